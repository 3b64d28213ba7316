// What Faultline's resolver (worker/dns-resolver-main.ts) says to one DNS query, pure: the query decoded and
// the answer encoded with dns-packet. A query for a name the fault names gets the fault's answer (an error
// code, or the address given); any other query, or one that does not decode, is forwarded untouched.
import dnsPacket from 'dns-packet';
import { nameMatches } from './dns-names.ts';

/** The resolver's whole configuration, passed to it as JSON (FL_DNS). */
export interface ResolverConfig {
  names: string[];
  /** dns.error's answer. */
  rcode?: 'NXDOMAIN' | 'SERVFAIL';
  /** dns.spoof's answer: an IPv4 address answers A queries, an IPv6 one AAAA; other types get no record. */
  address?: string;
  /** One listener per original nameserver: queries redirected to `port` are forwarded to `upstream`:53. */
  listen: { port: number; upstream: string }[];
  /** Epoch ms: the resolver ends by itself then, whatever else happens. */
  until: number;
}

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** The resolver's answer to `query`, or undefined when it is to be forwarded to the original resolver. */
export function answerQuery(query: Buffer, c: Pick<ResolverConfig, 'names' | 'rcode' | 'address'>): Buffer | undefined {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  const question = q.questions?.[0];
  if (q.type !== 'query' || !question || !c.names.some((p) => nameMatches(p, question.name))) return undefined;
  const v6 = !!c.address?.includes(':');
  const type = v6 ? 'AAAA' : 'A';
  const answers: dnsPacket.Answer[] =
    c.address && (question.type === type || (question.type as string) === 'ANY')
      ? [{ type, name: question.name, class: 'IN', ttl: 0, data: c.address }]
      : [];
  const rcode = c.rcode ? RCODE[c.rcode] : RCODE.NOERROR;
  return dnsPacket.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: [question],
    answers,
  });
}
