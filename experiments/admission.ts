// Admission control, the pure part: the policy's shape, the admission state, and the decision for one
// request. No I/O and no clock of its own (the caller passes the time), so the admission workflow can
// run it deterministically and unit tests can run it without Temporal.
import { activeWindow, describeWindow, type BlackoutWindow } from './blackout.ts';
import { containerKey, containerLabel } from './hosts.ts';
import type { Receiver } from './notify.ts';

export interface EnvironmentPolicy {
  maxConcurrent?: number;
  /** Runs in this environment wait (up to their admission wait) for `faultline admission approve`. */
  requireApproval?: boolean;
}

export interface Policy {
  /** Experiments injecting at once, across every environment. */
  maxConcurrent?: number;
  /** No two runs fault the same container or proxy route at once (default true). */
  exclusiveTargets: boolean;
  environments: Record<string, EnvironmentPolicy>;
  blackouts: BlackoutWindow[];
  /** Webhooks told of every run that asks admission (from then on); its decision carries them to the run. */
  notify?: Receiver[];
  /** Where the policy came from (file name), for messages. */
  source?: string;
}

/** The failure type of an admit the admission workflow refuses to read (its validator): final, not retried. */
export const INVALID_ADMIT = 'InvalidAdmitRequest';

export const DEFAULT_POLICY: Policy = { exclusiveTargets: true, environments: {}, blackouts: [] };

/** A target key: "container:<id>" or "proxy:<route>"; the label is what people read. */
export interface TargetRef {
  key: string;
  label: string;
  /**
   * A control-group replica: held so that no other run faults it, while other runs' control groups may hold
   * it too (read-only holds share; a fault and any hold exclude each other).
   */
  readOnly?: boolean;
}

/** Whether two holds of one key exclude each other: only two read-only (control-group) holds share. */
const clash = (a: TargetRef, b: TargetRef) => a.key === b.key && !(a.readOnly && b.readOnly);

export interface AdmitRequest {
  workflowId: string;
  runId: string;
  title: string;
  environment?: string;
  targets: TargetRef[];
  /**
   * The run waits for admission until then (ISO time): a refusal that can clear puts it in the queue of
   * waiters, and admission tells the run (admissionChanged) when it holds its targets for it. Absent: a
   * final ask (the run's wait is over) or a run of code from before the queue.
   */
  waitUntil?: string;
}

export interface Hold extends AdmitRequest {
  since: string;
  /** Taken for a waiter that has not asked again yet (then it is confirmed, or refused and dropped). */
  reserved?: string;
}

/** A run waiting for a holder to leave, a free slot or an approval; oldest first. */
export interface Waiter extends AdmitRequest {
  since: string;
}

export interface Lever {
  reason: string;
  who?: string;
  at: string;
}

export interface AdmissionState {
  policy: Policy;
  holds: Hold[];
  lever?: Lever;
  /** Workflow IDs approved to run in an environment that requires approval. */
  approvals: { workflowId: string; who: string; at: string }[];
  /** Runs waiting for admission, oldest first (absent in states from before the queue). */
  waiters?: Waiter[];
}

export type Decision = (
  | { admitted: true }
  | {
      admitted: false;
      /** true: the same request may succeed later (a holder leaves, an approval comes). */
      retryable: boolean;
      /** Admission itself is busy (continuing as new): ask again at once; the admitRun activity does. */
      transient?: boolean;
      reason: string;
      /** The holds that block it (when it is about targets or limits). */
      blockers?: Hold[];
      window?: string;
    }
) & {
  /** The policy's receivers: the run tells them of its events from its admission on. */
  notify?: Receiver[];
};

export function initialState(policy: Policy = DEFAULT_POLICY): AdmissionState {
  return { policy, holds: [], approvals: [] };
}

function holderText(h: Hold): string {
  return `${h.workflowId} ("${h.title}", since ${h.since})`;
}

const sameRun = (a: { workflowId: string; runId: string }, b: { workflowId: string; runId: string }) =>
  a.workflowId === b.workflowId && a.runId === b.runId;

/**
 * Decides one request against the policy and the current holds. nowMs: the time blackout windows are read
 * at; undefined reads none (the queue's decisions, which must not depend on when they are made: a blackout
 * is checked when the waiter asks again).
 */
export function evaluate(state: AdmissionState, req: AdmitRequest, nowMs: number | undefined): Decision {
  const d = decide(state, req, nowMs);
  // Data only (no command): the run tells the policy's receivers of its events from here on.
  const notify = state.policy.notify;
  return notify?.length ? { ...d, notify } : d;
}

function decide(state: AdmissionState, req: AdmitRequest, nowMs: number | undefined): Decision {
  const { policy } = state;
  const held = state.holds.find((h) => sameRun(h, req));
  if (held && !held.reserved) return { admitted: true };
  if (state.lever) {
    return {
      admitted: false,
      retryable: false,
      reason: `the safety lever is pulled${state.lever.who ? ` by ${state.lever.who}` : ''} at ${state.lever.at}: ${state.lever.reason} (faultline lever release)`,
    };
  }
  const w = nowMs === undefined ? undefined : activeWindow(policy.blackouts, nowMs);
  if (w) {
    return {
      admitted: false,
      retryable: false,
      window: w.name,
      reason: `blackout window "${w.name}" (${describeWindow(w)}) is in effect`,
    };
  }
  if (held) return { admitted: true }; // reserved for it while it waited: the targets and limits were checked then
  const env = req.environment ? policy.environments[req.environment] : undefined;
  if (env?.requireApproval && !state.approvals.some((a) => a.workflowId === req.workflowId)) {
    return {
      admitted: false,
      retryable: true,
      reason: `environment "${req.environment}" needs an approval: faultline admission approve ${req.workflowId} --who NAME`,
    };
  }
  if (policy.exclusiveTargets) {
    const clashes = (h: Hold) => h.targets.filter((t) => req.targets.some((r) => clash(r, t)));
    const blockers = state.holds.filter((h) => clashes(h).length > 0);
    if (blockers.length) {
      const b = blockers[0] as Hold;
      const shared = clashes(b).map((t) => `${t.label}${t.readOnly ? ' (its control group)' : ''}`);
      const mine = req.targets.filter((r) => b.targets.some((t) => clash(r, t)));
      const asControl = mine.length > 0 && mine.every((r) => r.readOnly) ? ' (your control group)' : '';
      return {
        admitted: false,
        retryable: true,
        blockers,
        reason: `target ${[...new Set(shared)].join(', ')}${asControl} is held by ${holderText(b)}`,
      };
    }
  }
  if (policy.maxConcurrent !== undefined && state.holds.length >= policy.maxConcurrent) {
    return {
      admitted: false,
      retryable: true,
      blockers: [...state.holds],
      reason: `${state.holds.length} experiments are running, the policy allows ${policy.maxConcurrent} at once (held by ${state.holds.map((h) => h.workflowId).join(', ')})`,
    };
  }
  if (req.environment && env?.maxConcurrent !== undefined) {
    const same = state.holds.filter((h) => h.environment === req.environment);
    if (same.length >= env.maxConcurrent) {
      return {
        admitted: false,
        retryable: true,
        blockers: same,
        reason: `${same.length} experiments are running in "${req.environment}", the policy allows ${env.maxConcurrent} there (held by ${same.map((h) => h.workflowId).join(', ')})`,
      };
    }
  }
  return { admitted: true };
}

/** Applies an admitted request to the state (idempotent; confirms a hold reserved for it). */
export function admit(state: AdmissionState, req: AdmitRequest, at: string): void {
  const held = state.holds.find((h) => sameRun(h, req));
  if (held) delete held.reserved;
  else {
    const { waitUntil: _, ...hold } = req;
    state.holds.push({ ...hold, since: at });
  }
  state.waiters = state.waiters?.filter((w) => !sameRun(w, req));
}

/** Puts a refused run that will wait in the queue, or keeps its place there (its wait may have changed). */
export function enqueue(state: AdmissionState, req: AdmitRequest, at: string): void {
  const waiters = (state.waiters ??= []);
  const i = waiters.findIndex((w) => sameRun(w, req));
  if (i < 0) waiters.push({ ...req, since: at });
  else waiters[i] = { ...req, since: (waiters[i] as Waiter).since };
}

/**
 * A run that is refused for good (or whose wait is over): out of the queue, and a hold reserved for it is
 * given back. Returns whether anything changed.
 */
export function refuse(state: AdmissionState, req: { workflowId: string; runId: string }): boolean {
  const before = state.holds.length + (state.waiters?.length ?? 0);
  state.holds = state.holds.filter((h) => !(sameRun(h, req) && h.reserved));
  state.waiters = state.waiters?.filter((w) => !sameRun(w, req));
  return before !== state.holds.length + (state.waiters?.length ?? 0);
}

/** Drops the holds and the place in the queue of one run (or of every run of a workflow ID when runId is omitted). */
export function release(state: AdmissionState, workflowId: string, runId?: string): Hold[] {
  const mine = (h: { workflowId: string; runId: string }) =>
    h.workflowId === workflowId && (!runId || h.runId === runId);
  const gone = state.holds.filter(mine);
  const left = state.waiters?.filter(mine) ?? [];
  state.holds = state.holds.filter((h) => !gone.includes(h));
  if (left.length) state.waiters = state.waiters?.filter((w) => !mine(w));
  state.approvals = state.approvals.filter((a) => a.workflowId !== workflowId || !(gone.length || left.length));
  return gone;
}

/**
 * The queue after a change: each waiter in order that the policy now admits gets its targets reserved (no
 * later request can take them), and each one refused for good (the lever) leaves the queue. Blackout windows
 * are not read here (see evaluate). Returns the waiters to tell (admissionChanged): they ask again.
 */
export function serveQueue(state: AdmissionState, at: string): Waiter[] {
  const told: Waiter[] = [];
  for (const w of [...(state.waiters ?? [])]) {
    const d = state.holds.some((h) => sameRun(h, w))
      ? { admitted: false, retryable: false }
      : evaluate(state, w, undefined);
    if (d.admitted) {
      const { waitUntil: _, since: __, ...hold } = w;
      state.holds.push({ ...hold, since: at, reserved: at });
    } else if (d.retryable) continue;
    state.waiters = state.waiters?.filter((x) => x !== w);
    told.push(w);
  }
  return told;
}

/** Waiters whose wait ended long ago (their run is gone without asking again): out of the queue. */
export function dropStale(state: AdmissionState, nowMs: number, graceMs: number): Waiter[] {
  const stale = (state.waiters ?? []).filter((w) => w.waitUntil && Date.parse(w.waitUntil) + graceMs < nowMs);
  if (stale.length) state.waiters = state.waiters?.filter((w) => !stale.includes(w));
  return stale;
}

/**
 * What a run's faults hit, as admission keys: the selected containers (by ID) and the proxy routes.
 * Computed after planning, so it names exactly the containers that will be faulted.
 */
export function targetsOf(
  faults: readonly { faultIndex: number; target?: { id: string; name: string; host?: string } }[],
  method: readonly { kind: string; [field: string]: unknown }[],
): TargetRef[] {
  const out = new Map<string, TargetRef>();
  for (const f of faults) {
    if (f.target) {
      // Across a fleet a container is its host and ID (names repeat across hosts).
      const key = `container:${containerKey(f.target)}`;
      out.set(key, { key, label: containerLabel(f.target) });
    }
    const proxy = method[f.faultIndex]?.proxy;
    for (const route of typeof proxy === 'string' ? [proxy] : Array.isArray(proxy) ? proxy : [])
      out.set(`proxy:${String(route)}`, { key: `proxy:${String(route)}`, label: `proxy route ${String(route)}` });
  }
  return [...out.values()];
}

/** The control group's replicas as read-only admission targets (none that the run itself faults). */
export function controlTargetsOf(
  control: readonly { id: string; name: string; host?: string }[],
  faulted: readonly TargetRef[],
): TargetRef[] {
  const mine = new Set(faulted.map((t) => t.key));
  return control
    .map((c) => ({ key: `container:${containerKey(c)}`, label: containerLabel(c), readOnly: true }))
    .filter((t) => !mine.has(t.key));
}
