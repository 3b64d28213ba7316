// kind: GameDay: steps run in order (experiments by file or inline, parallel groups, human gates, notes),
// with roles (owner, approvers, observers) and a policy on failure per step. Parsed with positions; every
// referenced experiment is read and validated, so a game day never starts with a missing or bad file.
import { z } from 'zod';
import { durationSchema } from '../faults/common-schema.ts';
import { parseWith, readText, type DocRule } from './document.ts';
import { loadExperimentRef } from './schedule.ts';
import { parseExperiment } from './parse.ts';
import type { Problem } from '../errors.ts';
import type { GameDayInput, GameDayStep, OnFailure } from './gameday-types.ts';

const experimentRef = z
  .union([z.string().min(1), z.record(z.string(), z.unknown())])
  .describe('An experiment file (relative to this file) or an inline experiment.');
const onFailure = z.enum(['stop', 'continue', 'ask']);
const stepName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, { message: 'lowercase letters, digits and dashes' });

const stepSchema = z.strictObject({
  name: stepName.optional(),
  experiment: experimentRef.optional(),
  parallel: z
    .array(z.strictObject({ experiment: experimentRef }))
    .min(2)
    .optional(),
  gate: z.string().min(1).optional().describe('A question an approver answers with faultline gameday approve.'),
  note: z.string().min(1).optional(),
  deadline: durationSchema.optional().describe('The step is aborted (its experiments revert) after this.'),
  onFailure: onFailure.optional(),
});

export const gameDaySchema = z
  .strictObject({
    apiVersion: z.literal('faultline/v1').default('faultline/v1'),
    kind: z.literal('GameDay'),
    title: z.string().min(1).max(200),
    description: z.string().optional(),
    owner: z.string().min(1),
    approvers: z.array(z.string().min(1)).default([]),
    observers: z.array(z.string().min(1)).default([]),
    onFailure: onFailure.default('stop'),
    steps: z.array(stepSchema).min(1),
  })
  .describe('A Faultline game day: a parent workflow with one child workflow per experiment.');

type GameDayFile = z.infer<typeof gameDaySchema>;

const rules: DocRule<GameDayFile>[] = [
  {
    name: 'one-kind-per-step',
    check: (g) =>
      g.steps.flatMap((s, i) => {
        const kinds = [s.experiment, s.parallel, s.gate, s.note].filter((x) => x !== undefined).length;
        return kinds === 1
          ? []
          : [{ path: ['steps', i], message: 'a step is exactly one of experiment, parallel, gate or note' }];
      }),
  },
  {
    name: 'step-names-unique',
    check: (g) =>
      g.steps.flatMap((s, i) =>
        s.name && g.steps.findIndex((o) => o.name === s.name) < i
          ? [{ path: ['steps', i, 'name'], message: `another step is already named "${s.name}"` }]
          : [],
      ),
  },
  {
    name: 'gates-need-approvers',
    check: (g) =>
      g.steps.some((s) => s.gate || s.onFailure === 'ask') || g.onFailure === 'ask'
        ? g.approvers.length
          ? []
          : [{ path: ['approvers'], message: 'gates and onFailure: ask wait for an approver: name at least one' }]
        : [],
  },
];

export async function parseGameDay(
  text: string,
  file = '<input>',
  opts: { searchAttributes?: boolean } = {},
): Promise<{ ok: true; value: GameDayInput } | { ok: false; problems: Problem[] }> {
  const nested: Problem[] = [];
  const steps: GameDayStep[] = [];
  const resolve = async (ref: unknown, where: (string | number)[]) => {
    if (typeof ref === 'string') {
      const r = await loadExperimentRef(file, ref);
      if (r.ok) return { ok: true as const, value: r.value };
      nested.push(...r.problems);
      return { ok: false as const, v: { path: where, message: r.message } };
    }
    // Inline: validated by the experiment parser, positions relative to the inline text.
    const r = parseExperiment(JSON.stringify(ref), `${file} (${where.join('.')}, inline)`);
    if (r.ok) return { ok: true as const, value: { experiment: r.experiment, file } };
    return {
      ok: false as const,
      v: { path: where, message: `inline experiment: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` },
    };
  };
  const compile: DocRule<GameDayFile> = {
    name: 'experiments-valid',
    check: async (g) => {
      const out: { path: (string | number)[]; message: string }[] = [];
      for (const [i, s] of g.steps.entries()) {
        const name = s.name ?? `step-${i + 1}`;
        const policy = s.onFailure ?? g.onFailure;
        if (s.gate) steps.push({ name, kind: 'gate', text: s.gate });
        else if (s.note) steps.push({ name, kind: 'note', text: s.note });
        else {
          const refs = s.parallel
            ? s.parallel.map((p, j) => ({ ref: p.experiment, at: ['steps', i, 'parallel', j, 'experiment'] }))
            : [{ ref: s.experiment, at: ['steps', i, 'experiment'] }];
          const experiments = [];
          for (const { ref, at } of refs) {
            const r = await resolve(ref, at);
            if (r.ok) experiments.push(r.value);
            else out.push(r.v);
          }
          steps.push({ name, kind: 'experiments', experiments, deadline: s.deadline, onFailure: policy as OnFailure });
        }
      }
      return out;
    },
  };
  const r = await parseWith(text, file, gameDaySchema, [...rules, compile], 'game day');
  if (!r.ok) return { ok: false, problems: [...r.problems, ...nested] };
  const g = r.value;
  return {
    ok: true,
    value: {
      title: g.title,
      description: g.description,
      file,
      owner: g.owner,
      approvers: g.approvers,
      observers: g.observers,
      steps,
      searchAttributes: opts.searchAttributes ?? false,
    },
  };
}

export async function parseGameDayFile(file: string, opts: { searchAttributes?: boolean } = {}) {
  const t = await readText(file);
  return t.ok ? parseGameDay(t.text, file, opts) : t;
}
