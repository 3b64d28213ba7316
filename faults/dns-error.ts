// dns.error: the container's queries for the names given are answered NXDOMAIN (no such name) or SERVFAIL (the
// resolver failed) by Faultline's resolver in its network namespace; every other name resolves as before
// (./dns-common.ts: the redirect, the resolver, the lease and the revert).
import { z } from 'zod';
import type { FaultKind } from './types.ts';
import {
  dnsBase,
  forText,
  injectDns,
  namesText,
  prepareDns,
  rcodeField,
  revertDns,
  type DnsHandle,
} from './dns-common.ts';

const spec = z.strictObject({ kind: z.literal('dns.error'), ...dnsBase, rcode: rcodeField });
export type DnsErrorSpec = z.infer<typeof spec>;

export const dnsError: FaultKind<typeof spec, DnsHandle> = {
  name: 'dns.error',
  spec,
  needsContainer: true,
  describe: (s, t) => `answer ${s.rcode} for ${namesText(s.names)} ${forText(s, t)}`,
  prepare: async (ports, s, t) => prepareDns(ports, s.kind, s, t, { rcode: s.rcode }),
  inject: async (ports, _s, h) => injectDns(ports, 'dns.error', h),
  revert: async (ports, h) => revertDns(ports, 'dns.error', h),
};
