// Pure helpers of the faults that put packet filter rules in a container's network namespace: names for the
// chains a fault owns (after its run and itself), the rule set as a comparable list, and IPv4 CIDRs.
// Faultline's rules live in chains of their own; these helpers let a revert check that what is left is
// exactly what was there before the fault.
import type { NetnsSnapshot, OwnedChains } from './kernel-ports.ts';

/** iptables refuses chain names longer than this. */
export const MAX_CHAIN_NAME = 28;

/** FNV-1a, 32 bits, as 6 base-36 characters: a short, stable tag for a run's id in a chain name. */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(-6);
}

/** A fresh fault id for chain names and stressors: 6 base-36 characters. */
export function faultNonce(random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += Math.floor(random() * 36).toString(36);
  return s;
}

/** `FL-<run>-<fault>`: the run's tag and the fault's id; kinds append their own suffix (-I, -O). */
export function chainBase(run: string | undefined, nonce: string): string {
  return `FL-${shortHash(run ?? 'no-run')}-${nonce}`;
}

/** The text of the comment on every rule a fault adds: which run and fault it belongs to (≤ 256 chars). */
export function ruleComment(kind: string, run: string | undefined, nonce: string): string {
  return `faultline ${kind} fault ${nonce} run ${(run ?? 'none').replace(/[^A-Za-z0-9_.:@/-]/g, '_').slice(0, 180)}`;
}

interface Table {
  name: string;
  policies: Map<string, string>;
  chains: Set<string>;
  rules: string[];
}

const BUILTIN = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/**
 * The rule set in a form two snapshots can be compared in: comments and counters dropped, tables sorted,
 * and a table that holds nothing (only built-in chains accepting everything, no rule: what iptables shows
 * once any tool has merely loaded it) left out, since it filters nothing.
 */
export function ruleset(lines: readonly string[]): string[] {
  const tables: Table[] = [];
  let cur: Table | undefined;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), policies: new Map(), chains: new Set(), rules: [] };
      tables.push(cur);
    } else if (line.startsWith(':') && cur) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/);
      if (BUILTIN.has(name)) cur.policies.set(name, policy);
      else cur.chains.add(name);
    } else if (cur) cur.rules.push(line.replace(/\s+/g, ' '));
  }
  const out: string[] = [];
  for (const t of tables.sort((a, b) => a.name.localeCompare(b.name))) {
    const inert = !t.rules.length && !t.chains.size && [...t.policies.values()].every((p) => p === 'ACCEPT');
    if (inert) continue;
    out.push(`*${t.name}`);
    for (const [c, p] of [...t.policies].sort()) out.push(`:${c} ${p}`);
    for (const c of [...t.chains].sort()) out.push(`:${c} -`);
    out.push(...t.rules);
  }
  return out;
}

/** What differs between two rule sets: lines only in `before` (missing now) and only in `after` (new). */
export function rulesetDiff(
  before: readonly string[],
  after: readonly string[],
): { missing: string[]; added: string[] } {
  const a = ruleset(before);
  const b = ruleset(after);
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const cb = count(b);
  const missing = a.filter((x) => (cb.get(x) ?? 0) < (ca.get(x) ?? 0));
  const added = b.filter((x) => (ca.get(x) ?? 0) < (cb.get(x) ?? 0));
  return { missing: [...new Set(missing)], added: [...new Set(added)] };
}

/** Which of a fault's chains and hooks a snapshot shows (by name: iptables prints rules in its own words). */
export function chainsPresent(s: NetnsSnapshot, owned: OwnedChains): { chains: string[]; hooks: number } {
  const rs = ruleset(s.rules);
  const start = rs.indexOf(`*${owned.table}`);
  const table = start < 0 ? [] : rs.slice(start + 1, nextTable(rs, start + 1));
  const chains = owned.chains.filter((c) => table.includes(`:${c} -`));
  const hooks = table.filter((l) => {
    const m = /^-A (\S+) .*-j (\S+)$/.exec(l);
    return !!m && BUILTIN.has(m[1] ?? '') && owned.chains.includes(m[2] ?? '');
  }).length;
  return { chains, hooks };
}

/** Rules of a snapshot's table inside one chain, in order (without the "-A CHAIN" prefix). */
export function chainRules(s: NetnsSnapshot, table: string, chain: string): string[] {
  const rs = ruleset(s.rules);
  const start = rs.indexOf(`*${table}`);
  if (start < 0) return [];
  return rs
    .slice(start + 1, nextTable(rs, start + 1))
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => l.slice(`-A ${chain} `.length));
}

function nextTable(rs: string[], from: number): number {
  const i = rs.findIndex((l, k) => k >= from && l.startsWith('*'));
  return i < 0 ? rs.length : i;
}

// --- IPv4 addresses and networks -------------------------------------------------------------------------

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** An IPv4 network as address/prefix, or undefined when `text` is not one ("10.0.0.0/8", "10.1.2.3"). */
export function parseCidr(text: string): { base: number; bits: number } | undefined {
  const [addr = '', bitsText, extra] = text.trim().split('/');
  if (extra !== undefined || !IPV4.test(addr)) return undefined;
  const bits = bitsText === undefined ? 32 : /^(3[0-2]|[12]?\d)$/.test(bitsText) ? Number(bitsText) : NaN;
  if (Number.isNaN(bits)) return undefined;
  const ip = addr.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits };
}

export function formatCidr(c: { base: number; bits: number }): string {
  const o = [24, 16, 8, 0].map((s) => (c.base >>> s) & 255);
  return `${o.join('.')}/${c.bits}`;
}

/** Whether network a lies within network b. */
function within(a: { base: number; bits: number }, b: { base: number; bits: number }): boolean {
  if (a.bits < b.bits) return false;
  const mask = b.bits === 0 ? 0 : (0xffffffff << (32 - b.bits)) >>> 0;
  return (a.base & mask) >>> 0 === b.base;
}

/**
 * Networks with the ones inside another left out, sorted: a packet matches at most one of them, so a rule per
 * network drops each packet at most once.
 */
export function disjointCidrs(texts: readonly string[]): string[] {
  const nets = texts.map(parseCidr).filter((c): c is { base: number; bits: number } => !!c);
  const kept = nets.filter((a, i) => !nets.some((b, j) => j !== i && within(a, b) && (a.bits !== b.bits || j < i)));
  return [...new Set(kept.map(formatCidr))].sort();
}
