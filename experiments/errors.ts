// Named error classes. Library code throws these; only the CLI entry point maps them to exit codes.

/** The experiment file, CLI argument or request is wrong. Exit code 2. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
  constructor(
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

export interface Problem {
  file: string;
  line: number;
  column: number;
  path: string; // dotted field path, e.g. "method.0.duration"
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column} ${p.path || '(root)'}: ${p.message}`;
}

/** A fault's target vanished or does not fit the fault: retrying cannot help. */
export class FaultTargetGone extends Error {
  override name = 'FaultTargetGone';
}

/** An unknown fault kind reached the runner (schema drift between client and worker). */
export class UnknownFaultKind extends Error {
  override name = 'UnknownFaultKind';
}

/** Cannot reach Temporal, Docker or the proxy. Exit code 3. */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
}

/** Names of errors that activities mark non-retryable. */
export const NON_RETRYABLE = ['InvalidInput', 'FaultTargetGone', 'UnknownFaultKind'];
