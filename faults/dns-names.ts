// Name patterns of the dns.* fault kinds, pure: what a pattern may be ("api.internal", "*.svc.local", "*"),
// and whether a queried name matches one. Shared by the kinds' schemas and by the resolver that answers
// (faults/dns-answer.ts), so a pattern that validates is one the resolver reads the same way.
import { z } from 'zod';

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Why a pattern is not one, or undefined when it is. */
export function patternProblem(p: string): string | undefined {
  if (p === '*') return undefined;
  const name = p.endsWith('.') ? p.slice(0, -1) : p;
  const labels = name.split('.');
  const body = labels[0] === '*' ? labels.slice(1) : labels;
  if (!name) return 'must be a name such as api.internal, a wildcard such as *.svc.local, or * (every name)';
  if (name.length > 253) return 'must be at most 253 characters (a DNS name)';
  if (!body.length) return 'a wildcard needs a domain after it, such as *.svc.local';
  for (const l of body) {
    if (l.includes('*'))
      return `"${l}": a wildcard is only the whole leftmost label (*.svc.local), matching any name under it`;
    if (!l) return 'has an empty label (two dots in a row, or a leading dot)';
    if (!LABEL.test(l))
      return `"${l}" is not a DNS label: letters, digits, '-' and '_', at most 63, not starting or ending with '-'`;
  }
  return undefined;
}

/** A name as compared: lower case, without its trailing dot. */
const norm = (n: string) => n.toLowerCase().replace(/\.$/, '');

/** Whether `name` (a queried name) matches the pattern: exactly, or for *.D any name strictly under D. */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  const p = norm(pattern);
  const n = norm(name);
  return p.startsWith('*.') ? n.endsWith(p.slice(1)) && n.length > p.length - 1 : n === p;
}

export const namesField = z
  .array(
    z.string().superRefine((p, ctx) => {
      const why = patternProblem(p);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    }),
  )
  .min(1)
  .max(64)
  .describe(
    'Names whose queries are answered by the fault: exact ("api.internal"), a wildcard for every name under a domain ("*.svc.local"), or "*" for every name. Case does not matter.',
  );
