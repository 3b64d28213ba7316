// kind: GameDay: steps run in order (experiments by file or inline, parallel groups, human gates, notes),
// with roles (owner, approvers, observers) and a policy on failure per step. Parsed with positions; every
// referenced experiment is read and validated, so a game day never starts with a missing or bad file.
import { z } from 'zod';
import { durationSchema } from '../faults/common-schema.ts';
import {
  checkEmbedded,
  compileDocumentText,
  readDocumentFile,
  show,
  valueAt,
  type DocumentKind,
  type Parsed,
  type Rule,
  type Violation,
} from './document.ts';
import { experimentKind, loadExperimentRef, type ExperimentRef } from './parse.ts';
import type { Problem } from '../errors.ts';
import { notifySchema } from './notify.ts';
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
    notify: notifySchema
      .optional()
      .describe(
        "Webhooks told of the game day's start, each gate waiting for approval and its verdict, and of every child run's events.",
      ),
  })
  .describe('A Faultline game day: a parent workflow with one child workflow per experiment.');

type GameDayFile = z.infer<typeof gameDaySchema>;

const rules: Rule<GameDayFile>[] = [
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

export const gameDayKind: DocumentKind<GameDayFile> = {
  noun: 'game day',
  notAMapping: 'a game day must be a mapping with kind: GameDay, title, owner and steps',
  schema: gameDaySchema,
  rules,
  explain(issue, path, data) {
    if (issue.code !== 'invalid_union' || path.at(-1) !== 'experiment') return undefined;
    return [
      {
        path,
        message: `must be an experiment file (relative to this file) or an inline experiment (a mapping), not ${show(valueAt(data, path))}`,
      },
    ];
  },
};

/**
 * The game day, with every experiment it runs validated: a file it names is read and parsed (its problems
 * point into that file, and the step's field says which file failed); an inline one is checked where it
 * stands, so its problems point into this file (gameday.yaml:14:9 steps.1.experiment.method.0.duration).
 */
export async function parseGameDay(
  text: string,
  file = '<input>',
  opts: { searchAttributes?: boolean } = {},
): Promise<Parsed<GameDayInput>> {
  return compileDocumentText(text, file, gameDayKind, async (g) => {
    const violations: Violation[] = [];
    const problems: Problem[] = [];
    const experimentAt = async (ref: string | Record<string, unknown>, at: (string | number)[]) => {
      if (typeof ref !== 'string') {
        const c = checkEmbedded(experimentKind, ref, at, file);
        if (c.ok) return { experiment: c.value, file };
        violations.push(...c.violations);
        return undefined;
      }
      const r = await loadExperimentRef(file, ref);
      if (r.ok) return r.value;
      violations.push({ path: at, message: r.message });
      problems.push(...r.problems);
      return undefined;
    };
    const steps: GameDayStep[] = [];
    for (const [i, s] of g.steps.entries()) {
      const name = s.name ?? `step-${i + 1}`;
      if (s.gate) steps.push({ name, kind: 'gate', text: s.gate });
      else if (s.note) steps.push({ name, kind: 'note', text: s.note });
      else {
        const refs = s.parallel
          ? s.parallel.map((p, j) => ({ ref: p.experiment, at: ['steps', i, 'parallel', j, 'experiment'] }))
          : s.experiment !== undefined
            ? [{ ref: s.experiment, at: ['steps', i, 'experiment'] }]
            : [];
        const experiments: ExperimentRef[] = [];
        for (const { ref, at } of refs) {
          const e = await experimentAt(ref, at);
          if (e) experiments.push(e);
        }
        const onFailure = (s.onFailure ?? g.onFailure) as OnFailure;
        steps.push({ name, kind: 'experiments', experiments, deadline: s.deadline, onFailure });
      }
    }
    const value: GameDayInput = {
      title: g.title,
      description: g.description,
      file,
      owner: g.owner,
      approvers: g.approvers,
      observers: g.observers,
      steps,
      searchAttributes: opts.searchAttributes ?? false,
      ...(g.notify ? { notify: g.notify } : {}),
    };
    return { value, violations, problems };
  });
}

export async function parseGameDayFile(
  file: string,
  opts: { searchAttributes?: boolean } = {},
): Promise<Parsed<GameDayInput>> {
  const t = await readDocumentFile(file, 'game day');
  return t.ok ? parseGameDay(t.value, file, opts) : t;
}
