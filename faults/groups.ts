// Groups of containers a fault chooses by selectors of its own (a partition's two sides), instead of the
// experiment's targets: names, a name pattern or labels, matched as the targets selector matches them (only
// running containers; never one labelled faultline.protected=true nor one of Faultline's own components).
// Every container a group matches is in it (a group has no mode: it is the side of a split as a whole).
// Pure: planning (activities/plan.ts) and the fault's prepare on the target's host match with the same code.
import { z } from 'zod';
import type { ContainerInfo } from './ports.ts';

export const PROTECTED_LABEL = 'faultline.protected';
export const COMPONENT_LABEL = 'faultline.component';

export function isProtected(c: Pick<ContainerInfo, 'labels'>): boolean {
  return c.labels[PROTECTED_LABEL] === 'true' || COMPONENT_LABEL in c.labels;
}

const label = z
  .string()
  .min(1, { message: 'a label name must not be empty' })
  .max(256, { message: 'a label name is at most 256 characters' });

export const groupSelector = z
  .strictObject({
    names: z
      .array(
        z
          .string()
          .min(1, { message: 'a container name must not be empty' })
          .max(256, { message: 'a container name is at most 256 characters' }),
      )
      .min(1, { message: 'an empty group selects no container: give at least one container name' })
      .max(1000)
      .optional()
      .describe('Exact container names.'),
    namePattern: z
      .string()
      .min(1, { message: 'an empty pattern matches every container: give a specific regular expression' })
      .max(256)
      .superRefine((p, ctx) => {
        try {
          new RegExp(p);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
        }
      })
      .optional()
      .describe('Regular expression matched against container names.'),
    labels: z
      .record(label, z.string().max(4096))
      .refine((l) => Object.keys(l).length > 0, {
        message: 'an empty label map matches every container on the host: give at least one label',
      })
      .optional()
      .describe('Every label must match; at least one.'),
  })
  .refine((s) => !!(s.names ?? s.namePattern ?? s.labels), {
    message: 'an empty group selects no container: give names, namePattern or labels',
  })
  .describe(
    'A group of containers: every running one that matches (names, namePattern and labels all hold when given); protected and Faultline containers never.',
  );
export type GroupSelector = z.infer<typeof groupSelector>;

/** The selector in words, for messages: "names [db-1, db-2] and labels {role=primary}". */
export function describeGroup(s: GroupSelector): string {
  const parts: string[] = [];
  if (s.names) parts.push(`names [${s.names.join(', ')}]`);
  if (s.namePattern !== undefined) parts.push(`namePattern /${s.namePattern}/`);
  if (s.labels)
    parts.push(
      `labels {${Object.entries(s.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}}`,
    );
  return parts.join(' and ');
}

/** The running, unprotected containers a group selector matches, by name. */
export function groupMembers<C extends ContainerInfo>(containers: readonly C[], s: GroupSelector): C[] {
  const re = s.namePattern !== undefined ? new RegExp(s.namePattern) : undefined;
  return containers
    .filter((c) => c.state === 'running' && !isProtected(c))
    .filter((c) => !s.names || s.names.includes(c.name))
    .filter((c) => !re || re.test(c.name))
    .filter((c) => !s.labels || Object.entries(s.labels).every(([k, v]) => c.labels[k] === v))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * What two selectors are seen to share without the fleet: a name in both name lists, the same pattern, the
 * same labels. Each as the path (under the second selector) and message of a validation problem.
 */
export function staticOverlap(
  a: GroupSelector,
  b: GroupSelector,
  aField: string,
): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  b.names?.forEach((n, i) => {
    if (a.names?.includes(n))
      out.push({ path: ['names', i], message: `${n} is in group ${aField} too: the two groups must not overlap` });
  });
  if (a.namePattern !== undefined && a.namePattern === b.namePattern && !a.names && !b.names)
    out.push({
      path: ['namePattern'],
      message: `the same pattern as group ${aField}: the two groups must not overlap`,
    });
  const same = (x?: Record<string, string>, y?: Record<string, string>) =>
    !!x && !!y && JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
  if (same(a.labels, b.labels) && !a.names && !b.names && a.namePattern === b.namePattern)
    out.push({ path: ['labels'], message: `the same labels as group ${aField}: the two groups must not overlap` });
  return out;
}
