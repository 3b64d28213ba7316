// Durations in experiment files: "250ms", "1.5s", "2m", "1h". Pure: used by the schema and by workflows.
export const DURATION_PATTERN = '^(\\d+(?:\\.\\d+)?)(ms|s|m|h)$';
const re = new RegExp(DURATION_PATTERN);
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for a duration string; throws on a malformed one (the schema rejects those first). */
export function durationMs(text: string): number {
  const m = re.exec(text.trim());
  if (!m) throw new Error(`invalid duration "${text}" (expected e.g. 250ms, 30s, 2m)`);
  return Math.round(Number(m[1]) * (unitMs[m[2] as string] as number));
}

export function isDuration(text: string): boolean {
  return re.test(text.trim());
}

/** Human form for summaries: 30000 -> "30s", 250 -> "250ms". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  return `${+(ms / 60_000).toFixed(1)}m`;
}
