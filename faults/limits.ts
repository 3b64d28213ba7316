// The run-time bounds of the experiment language, in one place: the schema validates with them and the
// workflow's timers and activity budgets are built from them, so a file that validates fits what runs it.
// The fault proxy's own bounds are in proxy/limits.ts (the proxy enforces them; the fault specs import
// them). Plain constants, no imports, no Node built-ins: workflows import this file.
/** Node's timers (setTimeout, AbortSignal.timeout) fire at once above this many ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

// --- durations in experiment files, ms ---------------------------------------------------------------

/** A fault's own duration; the fault window is the longest of them. 24 h keeps every date and timer finite. */
export const MIN_FAULT_MS = 100;
export const MAX_FAULT_MS = 24 * 3_600_000;
/** Guard: time between samples; a sample starts at most this often. */
export const MIN_GUARD_INTERVAL_MS = 50;
export const MAX_GUARD_INTERVAL_MS = MAX_FAULT_MS;
/** One probe request; the probe's `duration` mode. */
export const MIN_PROBE_TIMEOUT_MS = 1;
export const MAX_PROBE_TIMEOUT_MS = 60_000;
export const MIN_PROBE_DURATION_MS = 1;
export const MAX_PROBE_DURATION_MS = 60_000;
/** Tolerances (p50/p95/p99): compared, never waited for; above an hour means "not checked" anyway. */
export const MAX_TOLERANCE_MS = 3_600_000;
/** afterCheck.recoveryTimeout: how long the steady state may take to come back. */
export const MAX_RECOVERY_MS = 3_600_000;

// --- activity budgets (the workflow uses these; rules check the experiment fits them) ------------------

/** runProbes (steady state before): every hypothesis probe, one after the other, in one attempt. */
export const PROBE_ACTIVITY_MS = 120_000;
/** prepareFault / injectFault. A container stop or restart waits its grace period inside it. */
export const INJECT_ACTIVITY_MS = 30_000;
/** Headroom an inject needs besides the grace period (inspect, the Docker call itself). */
export const INJECT_HEADROOM_MS = 5_000;
/** The largest container grace period (seconds) that fits the inject budget. */
export const MAX_GRACE_SECONDS = Math.floor((INJECT_ACTIVITY_MS - INJECT_HEADROOM_MS) / 1000);
/** observe (the fault window) gets the window plus this; awaitSteadyState the recovery time plus this. */
export const ACTIVITY_SLACK_MS = 120_000;

// --- probes ---------------------------------------------------------------------------------------------

export const DEFAULT_PROBE_REQUESTS = 20;
export const MAX_PROBE_REQUESTS = 100_000;
export const MAX_PROBE_CONCURRENCY = 256;
