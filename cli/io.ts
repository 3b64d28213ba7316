// Where commands write. Commands take an Io so tests can capture output without spawning.
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Overwrites the current line on a terminal; prints a new line otherwise. */
  live(text: string): void;
  isTTY: boolean;
}

export function processIo(): Io {
  const isTTY = !!process.stdout.isTTY;
  return {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    live: (t) =>
      isTTY
        ? process.stdout.write(`\r\x1b[2K${t.slice(0, (process.stdout.columns || 120) - 1)}`)
        : process.stdout.write(`${t}\n`),
    isTTY,
  };
}
