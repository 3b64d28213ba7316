// Container fault leases: the reference a handle carries, and the default lifetime. A handle with a
// `lease` was recorded with the warden before its fault was injected; the warden reverts it by itself
// when nobody renews it for `ms`. Plain constants and types: workflows may import this file.

/** How long a container fault outlives its last renewal when every runner is gone. */
export const CONTAINER_LEASE_MS = 10_000;

export interface LeaseRef {
  id: string;
  ms: number;
}

export function leaseOf(handle: Record<string, unknown> | undefined): LeaseRef | undefined {
  const l = handle?.lease as Partial<LeaseRef> | undefined;
  return l && typeof l.id === 'string' && typeof l.ms === 'number' ? { id: l.id, ms: l.ms } : undefined;
}
