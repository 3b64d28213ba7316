// Bad input never hurts: each problem issue 8 lists for experiment files, as a test named after it.
// In-process parsing for the detail; the real CLI (`node bin/faultline.mjs validate`) where the exit code and
// the terminal output are the point. Neither Docker nor Temporal.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import {
  MAX_DEPTH,
  MAX_FILE_BYTES,
  MAX_LINES,
  MAX_PROBLEMS,
  openError,
  parseExperiment,
  parseExperimentFile,
} from '../../experiments/parse.ts';
import { formatProblem, type Problem } from '../../errors.ts';
import { PROJECT_ROOT } from '../../config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fl-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'faultline.mjs'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });

const VALID = `title: t
hypothesis:
  statement: s
  probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ]
targets: { names: [api-1] }
method: [ { kind: container.pause, duration: 1s } ]
`;

function problems(text: string, file = 'x.yaml'): Problem[] {
  const r = parseExperiment(text, file);
  expect(r.ok, 'expected the text to be refused').toBe(false);
  return r.ok ? [] : r.problems;
}
const positioned = (p: Problem) => Number.isInteger(p.line) && (p.line as number) >= 1 && (p.column as number) >= 1;
const INTERNAL = /Maximum call stack|\[object Object\]|RangeError|ReferenceError|TypeError|parseAllDocuments|\n\s+at /;

describe('YAML aliases', () => {
  it('an alias to a missing anchor (a typo) gives a positioned message', () => {
    const [p] = problems(VALID.replace('title: t', 'title: *tilte'));
    expect(p).toMatchObject({
      line: 1,
      column: 8,
      message: 'alias *tilte refers to no anchor: define &tilte before using it',
    });
  });

  it('more than 100 alias uses are legitimate reuse and validate', () => {
    const tags = Array.from({ length: 150 }, () => '*tag').join(', ');
    const r = parseExperiment(`${VALID}tags: [ &tag demo, ${tags} ]\n`, 'x.yaml');
    expect(r.ok ? r.experiment.tags?.length : r.problems).toBe(151);
  });

  it('an alias bomb is refused at the alias that passes the cap, never exit 3', () => {
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++)
      bomb += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const ps = problems(bomb);
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ line: 5, message: expect.stringMatching(/^alias \*a3 expands past 100000 values/) });
    expect(positioned(ps[0]!)).toBe(true);
  });

  it('an alias inside the value it refers to is refused with its position', () => {
    expect(problems('a: &a [1, *a]\n')[0]).toMatchObject({ line: 1, column: 11, message: /contains it/ });
  });
});

describe('the parser is robust and linear', () => {
  it(`nesting deeper than ${MAX_DEPTH} levels is refused with a position, never a stack overflow`, () => {
    const inputs = [
      '['.repeat(5000) + ']'.repeat(5000),
      '{a: '.repeat(3000) + '1' + '}'.repeat(3000),
      Array.from({ length: 1000 }, (_, i) => ' '.repeat(i) + '- ').join('\n') + 'x',
      '- '.repeat(20000) + 'x',
    ];
    for (const text of inputs) {
      const ps = problems(text);
      expect(ps[0]?.message).toMatch(/nested more than 64 levels deep/);
      expect(positioned(ps[0]!)).toBe(true);
    }
  });

  it('40,000 keys: a JSON object on one line gets every problem positioned, the list capped with a count', () => {
    const text = `{${Array.from({ length: 40_000 }, (_, i) => `"k${i}": ${i}`).join(', ')}}`;
    const ps = problems(text, 'x.json');
    expect(ps).toHaveLength(MAX_PROBLEMS + 1);
    expect(ps.every(positioned)).toBe(true);
    expect(ps.at(-1)?.message).toMatch(/^and \d+ more problem\(s\) not shown$/);
    expect(ps.find((p) => p.path === 'k0')).toMatchObject({ line: 1, column: 2, message: 'unknown field "k0"' });
  });

  it(`40,000 keys on as many lines are refused at line ${MAX_LINES + 1}, before the YAML parser runs`, () => {
    const text = Array.from({ length: 40_000 }, (_, i) => `k${i}: ${i}`).join('\n');
    expect(problems(text)).toEqual([
      {
        file: 'x.yaml',
        line: MAX_LINES + 1,
        column: 1,
        path: '',
        message: `more than ${MAX_LINES} lines; an experiment needs far fewer (split it, or generate fewer entries)`,
      },
    ]);
    const under = Array.from({ length: 5_000 }, (_, i) => `k${i}: ${i}`).join('\n');
    expect(problems(under)).toHaveLength(MAX_PROBLEMS + 1);
  });

  it('a duplicate key is refused at its second occurrence', () => {
    expect(problems(`${VALID}title: again\n`)[0]).toMatchObject({
      line: 7,
      column: 1,
      message: 'duplicate key "title"',
    });
  });

  it('a key that is a list or a mapping is refused (no "[object Object]" keys)', () => {
    const [p] = problems(`${VALID}? [a, b]\n: 1\n`);
    expect(p).toMatchObject({ line: 7, column: 3, message: /a key must be a plain name/ });
  });

  it('__proto__ is an unknown field, not a prototype', () => {
    const ps = problems(`${VALID}__proto__: { polluted: 1 }\n`);
    expect(ps.map((p) => p.message)).toEqual(['unknown field "__proto__"']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('messages', () => {
  it('a key containing a newline cannot forge extra FILE:LINE:COL lines; ANSI escapes are shown escaped', () => {
    const ps = problems(`${VALID}"evil\\nx.yaml:1:1 title: forged": 1\n"\\u001b[31mred": 2\n`);
    const out = ps.map(formatProblem).join('\n');
    expect(out.split('\n')).toHaveLength(2);
    expect(out.includes(String.fromCharCode(27))).toBe(false);
    expect(out).toContain('unknown field "evil\\nx.yaml:1:1 title: forged"');
    expect(out).toContain('\\u001b[31mred');
  });

  it('internal error text never shows: an object where a kind belongs, Infinity, several documents', () => {
    const texts = [
      VALID.replace('kind: container.pause', 'kind: { a: 1 }'),
      VALID.replace('duration: 1s }', 'duration: 1s, signal: .inf }').replace('container.pause', 'container.kill'),
      VALID.replace('"http://127.0.0.1:1/" }', '"http://127.0.0.1:1/", requests: 1e400 }'),
      `${VALID}---\ntitle: second\n`,
    ];
    for (const t of texts) for (const p of problems(t)) expect(formatProblem(p)).not.toMatch(INTERNAL);
    expect(problems(texts[0]!)[0]?.message).toMatch(/^unknown fault kind a mapping; known kinds:/);
    expect(problems(texts[3]!)[0]?.message).toMatch(/one experiment per file/);
  });

  it('missing required fields get a human message naming the field, not zod wording', () => {
    const ps = problems('title: t\n');
    expect(ps.map((p) => p.message)).toEqual([
      'required field "hypothesis" is missing (expected a mapping)',
      'required field "method" is missing (expected a list)',
    ]);
    const [type] = problems(VALID.replace('type: http, ', ''));
    expect(type).toMatchObject({
      path: 'hypothesis.probes.0.type',
      message: 'missing "type"; one of: http, prometheus',
    });
  });
});

describe('file-level problems say what is wrong with the file (FILE: message, no line 0 col 0)', () => {
  const file = (name: string) => path.join(dir, name);
  it('missing, a directory, a FIFO, a character device, too large, not UTF-8', async () => {
    mkdirSync(file('a-dir'));
    spawnSync('mkfifo', [file('a-fifo')]);
    writeFileSync(file('huge.yaml'), `title: t\n${'#'.repeat(MAX_FILE_BYTES)}\n`);
    writeFileSync(file('latin1.yaml'), Buffer.from([0x74, 0x3a, 0x20, 0xe9, 0x0a]));
    const cases: [string, RegExp][] = [
      [file('nope.yaml'), /^no such file$/],
      [file('a-dir'), /^is a directory, not an experiment file$/],
      [file('a-fifo'), /^is a FIFO \(named pipe\), not a regular file$/],
      ['/dev/zero', /^is a character device, not a regular file$/],
      [file('huge.yaml'), /^is too large: \d+ bytes; the limit is 1048576 \(1 MiB\)$/],
      [file('latin1.yaml'), /^is not UTF-8 text$/],
    ];
    for (const [f, message] of cases) {
      const r = await parseExperimentFile(f);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatchObject({ file: f, path: '', message });
      expect(r.problems[0]?.line).toBeUndefined();
      expect(formatProblem(r.problems[0]!)).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    }
  });

  it('with several files on the command line, every file is reported: valid ones, FIFOs, missing ones (exit 2)', () => {
    writeFileSync(file('ok.yaml'), VALID);
    writeFileSync(file('typo.yaml'), VALID.replace('title: t', 'title: *t'));
    spawnSync('mkfifo', [file('pipe.yaml')]);
    const r = cli('validate', 'ok.yaml', 'pipe.yaml', 'typo.yaml', 'missing.yaml', 'ok.yaml');
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual(['ok.yaml: valid', 'ok.yaml: valid']);
    expect(r.stderr.trim().split('\n')).toEqual([
      'pipe.yaml: is a FIFO (named pipe), not a regular file',
      'typo.yaml:1:8 (root): alias *t refers to no anchor: define &t before using it',
      'missing.yaml: no such file',
    ]);
  });

  it('a file without read permission says so (run as an unprivileged user: root reads anything)', () => {
    writeFileSync(file('unreadable.yaml'), VALID);
    chmodSync(file('unreadable.yaml'), 0);
    chmodSync(dir, 0o755);
    const bin = path.join(PROJECT_ROOT, 'bin', 'faultline.mjs');
    const nobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    // A clean clone under a private directory cannot be run by nobody: then check the mapping itself.
    const reachable =
      spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(bin)})`], nobody).status === 0;
    if (!reachable) {
      expect(openError(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBe(
        'permission denied: the file cannot be read',
      );
      return;
    }
    const r = spawnSync(process.execPath, [bin, 'validate', 'unreadable.yaml'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      ...nobody,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('unreadable.yaml: permission denied: the file cannot be read');
  });
});
