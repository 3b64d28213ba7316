// Writing a file a flag names (--out): done, or one line saying which file and why not (exit 2), never a stack.
import { writeFileSync } from 'node:fs';
import { safe } from '../experiments/document.ts';
import { InvalidInput } from '../errors.ts';

export function writeOut(file: string, text: string, flag = '--out'): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidInput(`${flag}: cannot write ${safe(file)}${code ? ` (${code})` : ''}`);
  }
}
