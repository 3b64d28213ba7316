// Admission control, the pure part: the policy's shape, the admission state, and the decision for one
// request. No I/O and no clock of its own (the caller passes the time), so the admission workflow can
// run it deterministically and unit tests can run it without Temporal.
import { activeWindow, describeWindow, type BlackoutWindow } from './blackout.ts';
import { containerKey, containerLabel } from './hosts.ts';

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
  /** Where the policy came from (file name), for messages. */
  source?: string;
}

export const DEFAULT_POLICY: Policy = { exclusiveTargets: true, environments: {}, blackouts: [] };

/** A target key: "container:<id>" or "proxy:<route>"; the label is what people read. */
export interface TargetRef {
  key: string;
  label: string;
}

export interface AdmitRequest {
  workflowId: string;
  runId: string;
  title: string;
  environment?: string;
  targets: TargetRef[];
}

export interface Hold extends AdmitRequest {
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
}

export type Decision =
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
    };

export function initialState(policy: Policy = DEFAULT_POLICY): AdmissionState {
  return { policy, holds: [], approvals: [] };
}

function holderText(h: Hold): string {
  return `${h.workflowId} ("${h.title}", since ${h.since})`;
}

/** Decides one request against the policy and the current holds. */
export function evaluate(state: AdmissionState, req: AdmitRequest, nowMs: number): Decision {
  const { policy } = state;
  if (state.holds.some((h) => h.workflowId === req.workflowId && h.runId === req.runId)) return { admitted: true };
  if (state.lever) {
    return {
      admitted: false,
      retryable: false,
      reason: `the safety lever is pulled${state.lever.who ? ` by ${state.lever.who}` : ''} at ${state.lever.at}: ${state.lever.reason} (faultline lever release)`,
    };
  }
  const w = activeWindow(policy.blackouts, nowMs);
  if (w) {
    return {
      admitted: false,
      retryable: false,
      window: w.name,
      reason: `blackout window "${w.name}" (${describeWindow(w)}) is in effect`,
    };
  }
  const env = req.environment ? policy.environments[req.environment] : undefined;
  if (env?.requireApproval && !state.approvals.some((a) => a.workflowId === req.workflowId)) {
    return {
      admitted: false,
      retryable: true,
      reason: `environment "${req.environment}" needs an approval: faultline admission approve ${req.workflowId} --who NAME`,
    };
  }
  if (policy.exclusiveTargets) {
    const keys = new Map(req.targets.map((t) => [t.key, t]));
    const blockers = state.holds.filter((h) => h.targets.some((t) => keys.has(t.key)));
    if (blockers.length) {
      const b = blockers[0] as Hold;
      const shared = b.targets.filter((t) => keys.has(t.key)).map((t) => t.label);
      return {
        admitted: false,
        retryable: true,
        blockers,
        reason: `target ${shared.join(', ')} is held by ${holderText(b)}`,
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

/** Applies an admitted request to the state (idempotent). */
export function admit(state: AdmissionState, req: AdmitRequest, at: string): void {
  if (state.holds.some((h) => h.workflowId === req.workflowId && h.runId === req.runId)) return;
  state.holds.push({ ...req, since: at });
}

/** Drops the holds of one run (or of every run of a workflow ID when runId is omitted). */
export function release(state: AdmissionState, workflowId: string, runId?: string): Hold[] {
  const gone = state.holds.filter((h) => h.workflowId === workflowId && (!runId || h.runId === runId));
  state.holds = state.holds.filter((h) => !gone.includes(h));
  state.approvals = state.approvals.filter((a) => a.workflowId !== workflowId || !gone.length);
  return gone;
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
