// The contract of a fault kind: one file each, listed once in ./registry.ts.
import type { z } from 'zod';
import type { ContainerInfo, Ports } from './ports.ts';
import type { GroupSelector } from './groups.ts';

/** Where a fault lands: a container chosen by the target selector, or a proxy named by the fault. */
export interface FaultTarget {
  container?: Pick<ContainerInfo, 'id' | 'name'>;
  /** The run (workflow id) preparing the fault, when known: rules a fault adds are named after it. */
  run?: string;
}

/** A fault entry's zod schema: an object whose `kind` is a literal, so the experiment schema can
 * build its discriminated union from the registry with each kind's own types. */
export type FaultSpecSchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.core.$ZodShape, z.core.$ZodObjectConfig>;

/**
 * A fault kind. `prepare` reads the state it will need to undo the fault (aliases, whether the
 * container was running) and returns the handle; the workflow records the handle as the intent
 * BEFORE `inject` runs. `revert` must be idempotent: "already reverted" and "already gone" succeed, and
 * it says which (`changed`).
 * Handles are plain JSON: they travel through workflow history.
 */
export interface FaultKind<Spec extends FaultSpecSchema, H extends Record<string, unknown>> {
  name: z.output<Spec>['kind'];
  /** zod schema for the fault entry (including `kind` and `duration`). */
  spec: Spec;
  /** true when the fault needs a container target from the experiment's selector. */
  needsContainer: boolean;
  /**
   * A kind that chooses its containers itself, by selectors of its own (network.split's from and to),
   * instead of the experiment's targets: each group by its field in the spec. Planning makes one fault
   * record per member of every group; each member counts in the blast radius and is held by admission.
   */
  groups?(spec: z.output<Spec>): { field: string; selector: GroupSelector }[];
  /** Short human text for Temporal activity summaries, e.g. "pause api-2 for 30s". */
  describe(spec: z.output<Spec>, target: FaultTarget): string;
  prepare(ports: Ports, spec: z.output<Spec>, target: FaultTarget): Promise<H>;
  inject(ports: Ports, spec: z.output<Spec>, handle: H): Promise<void>;
  revert(ports: Ports, handle: H): Promise<RevertEffect>;
  /**
   * When the fault was undone, from the target's own record (the daemon's event log, the fault proxy's record
   * of removed rules): the first undo after its apply, both after `since` (ISO, before the inject). For a
   * revert that found it undone already, so the journal keeps the real time and not the no-op's. undefined
   * when the record does not say.
   */
  undoneAt?(ports: Ports, handle: H, since: string): Promise<Undone | undefined>;
  /**
   * Optional lease renewal, called periodically while the fault is active. Renews only: it never puts
   * anything back, and returns how many of the fault's rules were missing (0 when all were renewed).
   */
  renew?(ports: Ports, handle: H): Promise<number>;
  /**
   * Puts back rules the target lost (a restarted proxy) for a fault the guard still holds active; only
   * ever called before the fault's revert began, and journaled. Kinds with leases provide it.
   */
  restore?(ports: Ports, handle: H): Promise<void>;
  /**
   * A step of a progressive exposure (proxy and HTTP kinds): the fault's rules updated in place to a share of
   * the traffic (percent), under a new lease. Never re-adds a rule that is gone; names those in `missing`.
   */
  expose?(ports: Ports, handle: H, share: number): Promise<ExposeEffect>;
}

/** What an exposure step changed: the rules (route/name) it found gone and so did not put back. */
export interface ExposeEffect {
  missing: string[];
}

/** When a fault was undone, per its target; `lapsed` when the target dropped it itself (a proxy's lease). */
export interface Undone {
  at: string;
  lapsed?: boolean;
}

/** What a revert did: `changed` when it undid the fault itself, false when it found it undone already. */
export interface RevertEffect {
  changed: boolean;
  /**
   * Why there was nothing to undo, in one line, when the reason is worth the journal's keeping (the fault went
   * with a restarted container's network namespace).
   */
  note?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFaultKind = FaultKind<any, any>;
