// Faultline's error classes, importable by every layer (pure: imports nothing). Library code throws these;
// activities decide retries by `retryable` (instanceof FaultlineError, never by name); only the CLI entry
// point (cli/main.ts) turns them into messages and exit codes via `exitCode`.

/** Base class: whether retrying the failed step can help, and the exit code the CLI reports. */
export abstract class FaultlineError extends Error {
  abstract readonly retryable: boolean;
  readonly exitCode: number = 3;
}

export interface Problem {
  file: string;
  /** 1-based; absent when the problem is the file itself (missing, a directory, too large). */
  line?: number;
  column?: number;
  path: string; // dotted field path, e.g. "method.0.duration"
  message: string;
}

/** `FILE:LINE:COL field.path: message`, or `FILE: message` for a problem with the file itself. */
export function formatProblem(p: Problem): string {
  if (p.line === undefined) return `${p.file}: ${p.message}`;
  return `${p.file}:${p.line}:${p.column ?? 1} ${p.path || '(root)'}: ${p.message}`;
}

/** The experiment file, CLI argument or request is wrong. Exit code 2. */
export class InvalidInput extends FaultlineError {
  override name = 'InvalidInput';
  readonly retryable = false;
  override readonly exitCode = 2;
  constructor(
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

/** A fault's target vanished (container removed, proxy route unknown, network detached): retrying cannot help. */
export class FaultTargetGone extends FaultlineError {
  override name = 'FaultTargetGone';
  readonly retryable = false;
}

/** The fault proxy refused a rule's attributes (HTTP 400): the same request would be refused again. */
export class ProxyRejected extends FaultlineError {
  override name = 'ProxyRejected';
  readonly retryable = false;
}

/** A proxy.* or http.* fault ran on a worker that knows no fault proxy (FAULTLINE_PROXY_URL, demo state). */
export class ProxyNotConfigured extends FaultlineError {
  override name = 'ProxyNotConfigured';
  readonly retryable = false;
}

/** An unknown fault kind reached the runner (schema drift between client and worker). */
export class UnknownFaultKind extends FaultlineError {
  override name = 'UnknownFaultKind';
  readonly retryable = false;
}

/** No warden watches the lease ledger of the daemon a container fault would land on: nothing is injected. */
export class WardenUnavailable extends FaultlineError {
  override name = 'WardenUnavailable';
  readonly retryable = false;
}

/** Cannot reach Temporal, Docker or the proxy: worth retrying. Exit code 3. */
export class InfrastructureError extends FaultlineError {
  override name = 'InfrastructureError';
  readonly retryable = true;
}

/** A metrics query the server rejects, or whose answer is not the one series the probe needs: retrying cannot help. */
export class MetricQueryError extends FaultlineError {
  override name = 'MetricQueryError';
  readonly retryable = false;
}

/** An inject returned, but its effect is not observed on the target (e.g. still running after pause): retried. */
export class FaultNotInEffect extends FaultlineError {
  override name = 'FaultNotInEffect';
  readonly retryable = true;
}

/** A revert returned, but the target is not back in its state from before the experiment: retried. */
export class RevertIncomplete extends FaultlineError {
  override name = 'RevertIncomplete';
  readonly retryable = true;
}

/** A host name already registered in the fleet for another Docker daemon: the agent refuses to start. Exit 2. */
export class HostConflict extends FaultlineError {
  override name = 'HostConflict';
  readonly retryable = false;
  override readonly exitCode = 2;
}
