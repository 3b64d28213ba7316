// dns.spoof: the container's queries for the names given are answered with the address given (an IPv4 one
// answers A queries, an IPv6 one AAAA; other types get no record, TTL 0) by Faultline's resolver in its
// network namespace; every other name resolves as before (./dns-common.ts: the redirect, the resolver, the
// lease and the revert).
import { z } from 'zod';
import type { FaultKind } from './types.ts';
import { dnsBase, forText, injectDns, namesText, prepareDns, revertDns, type DnsHandle } from './dns-common.ts';

const isAddress = (s: string) => z.ipv4().safeParse(s).success || z.ipv6().safeParse(s).success;

const spec = z.strictObject({
  kind: z.literal('dns.spoof'),
  ...dnsBase,
  address: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? 'required field "address" is missing (the address the names answer with, such as 10.0.0.99)'
          : 'must be an IPv4 or IPv6 address such as 10.0.0.99 or fd00::99',
    })
    .refine(isAddress, { message: 'must be an IPv4 or IPv6 address such as 10.0.0.99 or fd00::99' })
    .describe('The address the names answer with: IPv4 (A queries) or IPv6 (AAAA queries).'),
});
export type DnsSpoofSpec = z.infer<typeof spec>;

export const dnsSpoof: FaultKind<typeof spec, DnsHandle> = {
  name: 'dns.spoof',
  spec,
  needsContainer: true,
  describe: (s, t) => `answer ${s.address} for ${namesText(s.names)} ${forText(s, t)}`,
  prepare: async (ports, s, t) => prepareDns(ports, s.kind, s, t, { address: s.address }),
  inject: async (ports, _s, h) => injectDns(ports, 'dns.spoof', h),
  revert: async (ports, h) => revertDns(ports, 'dns.spoof', h),
};
