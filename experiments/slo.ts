// SLO files as hypotheses: an experiment's judged metric may name an OpenSLO (openslo/v1: kind SLO with an
// inline indicator or an indicatorRef to a kind SLI, ratioMetric good/bad/total with Prometheus queries,
// objectives[].target, timeWindow) or a Sloth (version: prometheus/v1: service, slos[].objective in percent,
// sli.events.error_query and total_query with {{.window}}) file. What Faultline reads of it: the error (or
// good) and total queries, as raw counters (rate(C[{{.window}}]) read as C: the judge differences counters
// itself), the objective, the window. Every problem is positioned in the SLO file (file:line:col field).
import { z } from 'zod';
import type { Problem } from '../errors.ts';
import {
  checkKind,
  parseTree,
  readDocumentFileSync,
  resolveRelative,
  show,
  type DocumentKind,
  type Parsed,
  type Path,
  type Resolved,
  type Rule,
  type Tree,
  type Violation,
} from './document.ts';

/** One SLO of a file, as a judged metric reads it. */
export interface SloSpec {
  format: 'openslo' | 'sloth';
  name: string;
  /** 0 < objective < 1. */
  objective: number;
  window: string;
  windowMs: number;
  /** Raw-counter PromQL: total and bad (Sloth, OpenSLO bad) or good (OpenSLO good). */
  events: { total: string; bad?: string; good?: string };
}

/** Sloth's default SLO period (its --default-slo-period); its prometheus/v1 files name none. */
export const SLOTH_WINDOW = '30d';
const SLOTH_PLACEHOLDER = '{{.window}}';
const OPENSLO_KINDS = [
  'SLO',
  'SLI',
  'Service',
  'DataSource',
  'AlertPolicy',
  'AlertCondition',
  'AlertNotificationTarget',
] as const;

// --- windows -----------------------------------------------------------------------------------------------

const WINDOW_UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  // calendar units at their usual length: a month of 30 days, a quarter of 90, a year of 365
  M: 30 * 86_400_000,
  Q: 90 * 86_400_000,
  Y: 365 * 86_400_000,
};

/** An SLO window ("28d", "1w", "4h", "1M") in ms, or undefined. */
export function sloWindowMs(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(m|h|d|w|M|Q|Y)\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * (WINDOW_UNIT_MS[m[2] as string] as number);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

// --- queries -----------------------------------------------------------------------------------------------

const RANGE_FUNCTIONS = new Set(['rate', 'increase', 'irate']);

/**
 * An SLO's query as the raw counter the judge differences: every rate(C[range]), irate(C[range]) or
 * increase(C[range]) becomes C (sum(rate(x[{{.window}}])) reads as sum(x)). A range selector anywhere else
 * (avg_over_time, a subquery) is refused: such a query is not a counter of events.
 */
export function rawCounterQuery(query: string): { ok: true; expr: string } | { ok: false; why: string } {
  // one pass: the brackets and parentheses outside string literals, each paren with its match
  const close = new Map<number, number>();
  const open = new Map<number, number>();
  const ranges: [number, number][] = [];
  const parens: number[] = [];
  let bracket = -1;
  for (let i = 0; i < query.length; i++) {
    const c = query[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      const end = endOfString(query, i);
      if (end < 0) return { ok: false, why: 'a string in it is not closed' };
      i = end;
    } else if (c === '[') bracket = i;
    else if (c === ']' && bracket >= 0) {
      ranges.push([bracket, i]);
      bracket = -1;
    } else if (c === '(') parens.push(i);
    else if (c === ')') {
      const o = parens.pop();
      if (o === undefined) return { ok: false, why: 'its parentheses do not match' };
      close.set(o, i);
      open.set(i, o);
    }
  }
  if (parens.length) return { ok: false, why: 'its parentheses do not match' };
  let out = query;
  for (const [s, e] of ranges.reverse()) {
    const inner = query.slice(s + 1, e);
    if (inner.includes(':'))
      return { ok: false, why: `the subquery [${inner}] is not a counter of events: write rate(COUNTER[range])` };
    let c = e + 1;
    while (c < query.length && /\s/.test(query[c] as string)) c++;
    const o = query[c] === ')' ? open.get(c) : undefined;
    let n = o === undefined ? -1 : o - 1;
    while (n >= 0 && /\s/.test(query[n] as string)) n--;
    let start = n;
    while (start >= 0 && /[A-Za-z_]/.test(query[start] as string)) start--;
    const fn = o === undefined ? '' : query.slice(start + 1, n + 1);
    if (o === undefined || !RANGE_FUNCTIONS.has(fn))
      return {
        ok: false,
        why: `the range [${inner}] must be the range of rate(), irate() or increase() over a counter${fn ? `, not of ${fn}()` : ''}: Faultline reads the counter itself and differences it`,
      };
    out = `${out.slice(0, start + 1)}${query.slice(o + 1, s).trim()}${out.slice(c + 1)}`;
  }
  if (out.includes('{{'))
    return { ok: false, why: `${SLOTH_PLACEHOLDER} may stand only as the range of rate() or increase()` };
  return { ok: true, expr: out.trim() };
}

function endOfString(q: string, i: number): number {
  const quote = q[i];
  for (let j = i + 1; j < q.length; j++) {
    if (q[j] === '\\' && quote !== '`') j++;
    else if (q[j] === quote) return j;
  }
  return -1;
}

/** A query as a raw counter, or the violation at `path`. */
function counterAt(query: string, path: Path, sloth: boolean, out: Violation[]): string | undefined {
  if (sloth && !query.includes(SLOTH_PLACEHOLDER)) {
    out.push({
      path,
      message: `has no ${SLOTH_PLACEHOLDER} placeholder: Sloth needs one, as the range of rate() over a counter (sum(rate(COUNTER[${SLOTH_PLACEHOLDER}])))`,
    });
    return undefined;
  }
  const r = rawCounterQuery(query);
  if (!r.ok) out.push({ path, message: `cannot be read as a counter of events: ${r.why}` });
  return r.ok ? r.expr : undefined;
}

/** A percentage as a share, without binary noise (99.9 -> 0.999, not 0.9990000000000001). */
const percentShare = (p: number): number => Number((p / 100).toPrecision(12));

// --- Sloth ---------------------------------------------------------------------------------------------------

const query = z.string().min(1);
/** Sloth's two forms: its own file (snake_case queries) and its Kubernetes resource (camelCase, under spec). */
const SLOTH_FORMS = {
  file: { at: [] as Path, error: 'error_query', total: 'total_query' },
  k8s: { at: ['spec'] as Path, error: 'errorQuery', total: 'totalQuery' },
} as const;
type SlothForm = keyof typeof SLOTH_FORMS;
const slothSlosSchema = (form: SlothForm) =>
  z
    .array(
      z.looseObject({
        name: z.string().min(1),
        objective: z.number(),
        sli: z.looseObject({
          events: z.looseObject({ [SLOTH_FORMS[form].error]: query, [SLOTH_FORMS[form].total]: query }).optional(),
          raw: z.unknown().optional(),
          plugin: z.unknown().optional(),
        }),
      }),
    )
    .min(1);
type SlothSlos = z.infer<ReturnType<typeof slothSlosSchema>>;

const slothFileSchema = z.looseObject({
  version: z.literal('prometheus/v1'),
  service: z.string().min(1),
  slos: slothSlosSchema('file'),
});
const slothK8sSchema = z.looseObject({
  apiVersion: z.literal('sloth.slok.dev/v1'),
  kind: z.literal('PrometheusServiceLevel'),
  spec: z.looseObject({ service: z.string().min(1), slos: slothSlosSchema('k8s') }),
});

/** The checks of a Sloth file's SLOs, in either form. */
function slothRule<T>(form: SlothForm, slosOf: (f: T) => SlothSlos): Rule<T> {
  const { at: prefix, error, total } = SLOTH_FORMS[form];
  return {
    name: `sloth-slos-${form}`,
    check: (f: T) => {
      const out: Violation[] = [];
      const seen = new Set<string>();
      slosOf(f).forEach((s, i) => {
        const at = [...prefix, 'slos', i];
        if (seen.has(s.name)) out.push({ path: [...at, 'name'], message: `duplicate SLO name "${s.name}"` });
        seen.add(s.name);
        if (!(s.objective > 0 && s.objective < 100))
          out.push({
            path: [...at, 'objective'],
            message: `must be a percentage between 0 and 100, both excluded (99.9 is 99.9%), not ${s.objective}`,
          });
        const ev = s.sli.events as Record<string, string> | undefined;
        if (!ev)
          out.push({
            path: [...at, 'sli', s.sli.raw !== undefined ? 'raw' : s.sli.plugin !== undefined ? 'plugin' : 'events'],
            message: `Faultline judges events: give sli.events with ${error} and ${total} (sli.raw and sli.plugin are not read)`,
          });
        else {
          counterAt(ev[error] as string, [...at, 'sli', 'events', error], true, out);
          counterAt(ev[total] as string, [...at, 'sli', 'events', total], true, out);
        }
      });
      return out;
    },
  };
}

type SlothFile = z.infer<typeof slothFileSchema>;
type SlothK8s = z.infer<typeof slothK8sSchema>;
const slothKind: DocumentKind<SlothFile> = {
  noun: 'Sloth SLO file',
  notAMapping: 'a Sloth SLO file must be a mapping with version, service and slos',
  schema: slothFileSchema,
  rules: [slothRule('file', (f: SlothFile) => f.slos)],
};
const slothK8sKind: DocumentKind<SlothK8s> = {
  noun: 'Sloth SLO file',
  notAMapping: 'a Sloth PrometheusServiceLevel must be a mapping with apiVersion, kind and spec',
  schema: slothK8sSchema,
  rules: [slothRule('k8s', (f: SlothK8s) => f.spec.slos)],
};

function slothSlos(slos: SlothSlos, form: SlothForm): SloSpec[] {
  const windowMs = sloWindowMs(SLOTH_WINDOW) as number;
  const { error, total: totalKey } = SLOTH_FORMS[form];
  return slos.map((s) => {
    const ev = s.sli.events as Record<string, string>;
    const bad = rawCounterQuery(ev[error] as string);
    const total = rawCounterQuery(ev[totalKey] as string);
    return {
      format: 'sloth',
      name: s.name,
      objective: percentShare(s.objective),
      window: SLOTH_WINDOW,
      windowMs,
      events: { total: total.ok ? total.expr : '', bad: bad.ok ? bad.expr : '' },
    };
  });
}

// --- OpenSLO -------------------------------------------------------------------------------------------------

const metricSource = z.looseObject({
  metricSource: z.looseObject({
    type: z.string().min(1),
    spec: z.looseObject({ query: query }),
  }),
});
const sliSpec = z.looseObject({
  ratioMetric: z
    .looseObject({
      counter: z.boolean().optional(),
      good: metricSource.optional(),
      bad: metricSource.optional(),
      total: metricSource,
    })
    .optional(),
  thresholdMetric: z.unknown().optional(),
});
const openSloSchema = z.looseObject({
  apiVersion: z.literal('openslo/v1'),
  kind: z.enum(OPENSLO_KINDS),
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: z.looseObject({}).optional(),
});
const sloSpecSchema = z.looseObject({
  indicator: z
    .looseObject({ metadata: z.looseObject({ name: z.string().min(1) }).optional(), spec: sliSpec })
    .optional(),
  indicatorRef: z.string().min(1).optional(),
  timeWindow: z.array(z.looseObject({ duration: z.string().min(1) })).min(1),
  objectives: z.array(z.looseObject({ target: z.number().optional(), targetPercent: z.number().optional() })).min(1),
});
type OpenSloDoc = z.infer<typeof openSloSchema>;
type SliSpec = z.infer<typeof sliSpec>;

const openSloKind: DocumentKind<OpenSloDoc> = {
  noun: 'OpenSLO file',
  notAMapping: 'an OpenSLO document must be a mapping with apiVersion, kind, metadata and spec',
  schema: openSloSchema,
  rules: [],
  explain(issue, path, data) {
    if (path.length === 1 && path[0] === 'kind' && issue.code === 'invalid_value') {
      const kind = (data as Record<string, unknown>).kind;
      return [
        {
          path: ['kind'],
          message: `unknown OpenSLO kind ${show(kind)}; one of: ${OPENSLO_KINDS.join(', ')} (Faultline judges kind SLO)`,
        },
      ];
    }
    return undefined;
  },
};

const sloDocKind: DocumentKind<z.infer<typeof sloSpecSchema>> = {
  noun: 'OpenSLO file',
  notAMapping: 'spec must be a mapping',
  schema: sloSpecSchema,
  rules: [],
};
const sliDocKind: DocumentKind<SliSpec> = {
  noun: 'OpenSLO file',
  notAMapping: 'spec must be a mapping',
  schema: sliSpec,
  rules: [],
};

/** One OpenSLO document: its tree and the checks of its spec (SLO or SLI). */
interface Doc {
  tree: Tree;
  value: OpenSloDoc;
}

function openSlos(docs: Doc[], problems: Problem[]): SloSpec[] {
  const slis = new Map<string, { doc: Doc; spec: SliSpec }>();
  const slos: SloSpec[] = [];
  const prefixed = (v: Violation[], at: Path) => v.map((x) => ({ ...x, path: [...at, ...x.path] }));
  for (const d of docs)
    if (d.value.kind === 'SLI') {
      const c = checkKind(sliDocKind, d.value.spec ?? null);
      if (!c.ok) problems.push(...d.tree.place(prefixed(c.violations, ['spec'])));
      else slis.set(d.value.metadata.name, { doc: d, spec: c.value });
    }
  const names = new Set<string>();
  for (const d of docs) {
    if (d.value.kind !== 'SLO') continue;
    const out: Violation[] = [];
    const c = checkKind(sloDocKind, d.value.spec ?? null);
    if (!c.ok) {
      problems.push(...d.tree.place(prefixed(c.violations, ['spec'])));
      continue;
    }
    const spec = c.value;
    const name = d.value.metadata.name;
    if (names.has(name)) out.push({ path: ['metadata', 'name'], message: `duplicate SLO name "${name}"` });
    names.add(name);
    // the indicator: inline, or a kind SLI of this file by name
    let sli: SliSpec | undefined;
    let sliAt: Path = ['spec', 'indicator', 'spec'];
    let sliTree = d.tree;
    if (spec.indicator && spec.indicatorRef)
      out.push({ path: ['spec', 'indicatorRef'], message: 'give indicator or indicatorRef, not both' });
    else if (spec.indicator) sli = spec.indicator.spec;
    else if (spec.indicatorRef) {
      const ref = slis.get(spec.indicatorRef);
      if (!ref)
        out.push({
          path: ['spec', 'indicatorRef'],
          message: `no kind: SLI named "${spec.indicatorRef}" in this file${slis.size ? `; it has: ${[...slis.keys()].join(', ')}` : ''}`,
        });
      else {
        sli = ref.spec;
        sliAt = ['spec'];
        sliTree = ref.doc.tree;
      }
    } else out.push({ path: ['spec'], message: 'an SLO needs an indicator (inline) or an indicatorRef (a kind: SLI)' });
    // the objective: the strictest target (meeting it meets every other)
    const targets: number[] = [];
    spec.objectives.forEach((o, i) => {
      const at = ['spec', 'objectives', i];
      if (o.target === undefined && o.targetPercent === undefined)
        out.push({ path: at, message: 'required field "target" is missing (the objective, 0 < target < 1)' });
      else if (o.target !== undefined && !(o.target > 0 && o.target < 1))
        out.push({
          path: [...at, 'target'],
          message: `must be between 0 and 1, both excluded (0.999 is 99.9%), not ${o.target}`,
        });
      else if (o.target === undefined && !((o.targetPercent as number) > 0 && (o.targetPercent as number) < 100))
        out.push({
          path: [...at, 'targetPercent'],
          message: `must be between 0 and 100, both excluded, not ${o.targetPercent}`,
        });
      else targets.push(o.target ?? percentShare(o.targetPercent as number));
    });
    const windowText = spec.timeWindow[0]?.duration as string;
    const windowMs = sloWindowMs(windowText);
    if (windowMs === undefined)
      out.push({
        path: ['spec', 'timeWindow', 0, 'duration'],
        message: `${show(windowText)} is not a window: a whole number and a unit (m, h, d, w, M, Q, Y), such as 28d`,
      });
    const sliOut: Violation[] = [];
    const events = sli ? openSloEvents(sli, sliOut) : undefined;
    problems.push(...d.tree.place(out), ...sliTree.place(prefixed(sliOut, sliAt)));
    if (out.length || sliOut.length || !events || windowMs === undefined) continue;
    slos.push({
      format: 'openslo',
      name,
      objective: Math.max(...targets),
      window: windowText.trim(),
      windowMs,
      events,
    });
  }
  if (!problems.length && !slos.length && docs[0])
    problems.push(...docs[0].tree.place([{ path: ['kind'], message: 'the file has no kind: SLO to judge' }]));
  return slos;
}

/** The events of a ratioMetric SLI (violations at paths inside the SLI's spec). */
function openSloEvents(sli: SliSpec, out: Violation[]): SloSpec['events'] | undefined {
  const r = sli.ratioMetric;
  if (!r) {
    out.push({
      path: sli.thresholdMetric !== undefined ? ['thresholdMetric'] : ['ratioMetric'],
      message:
        'Faultline judges events: give a ratioMetric with total and good or bad (a thresholdMetric is not a count of events)',
    });
    return undefined;
  }
  if (!!r.good === !!r.bad) {
    out.push({ path: ['ratioMetric', r.good ? 'bad' : 'good'], message: 'give good or bad (with total), one of them' });
    return undefined;
  }
  const which = r.good ? 'good' : 'bad';
  const q = (k: 'total' | 'good' | 'bad'): string | undefined => {
    const src = r[k]?.metricSource;
    if (!src) return undefined;
    if (src.type.toLowerCase() !== 'prometheus') {
      out.push({
        path: ['ratioMetric', k, 'metricSource', 'type'],
        message: `Faultline reads Prometheus: metricSource type ${show(src.type)} is not read`,
      });
      return undefined;
    }
    return counterAt(src.spec.query, ['ratioMetric', k, 'metricSource', 'spec', 'query'], false, out);
  };
  const total = q('total');
  const part = q(which);
  return total && part ? { total, [which]: part } : undefined;
}

// --- a whole file ------------------------------------------------------------------------------------------

/** The documents of a YAML stream, each with the lines before it blanked, so positions stay the file's own. */
function documents(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  let start = 0;
  const flush = (end: number) => {
    const body = lines.slice(start, end);
    if (body.some((l) => l.trim() && !l.trim().startsWith('#') && l.trim() !== '...'))
      out.push([...Array<string>(start).fill(''), ...body].join('\n'));
  };
  lines.forEach((l, i) => {
    if (/^---(\s|$)/.test(l)) {
      flush(i);
      start = i + 1;
      // "--- key: value" keeps its content on the marker's line
      const rest = l.slice(3);
      if (rest.trim() && !rest.trim().startsWith('#')) {
        lines[i] = `   ${rest}`;
        start = i;
      }
    }
  });
  flush(lines.length);
  return out;
}

/** Every SLO of an OpenSLO or Sloth file's text, or every problem positioned in `file`. */
export function parseSloText(text: string, file: string): Parsed<SloSpec[]> {
  const trees: Tree[] = [];
  for (const d of documents(text)) {
    const t = parseTree(d, file, 'SLO file');
    if (!t.ok) return t;
    trees.push(t.value);
  }
  const first = trees[0];
  if (!first)
    return {
      ok: false,
      problems: [{ file, path: '', message: 'is empty: an OpenSLO or Sloth SLO file was expected' }],
    };
  const top = (t: Tree) => (t.data && typeof t.data === 'object' ? (t.data as Record<string, unknown>) : {});
  if (trees.length === 1 && 'version' in top(first)) {
    const c = checkKind(slothKind, first.data);
    if (!c.ok) return { ok: false, problems: first.place(c.violations) };
    return { ok: true, value: slothSlos(c.value.slos, 'file') };
  }
  if (trees.length === 1 && String(top(first).apiVersion ?? '').startsWith('sloth.slok.dev/')) {
    const c = checkKind(slothK8sKind, first.data);
    if (!c.ok) return { ok: false, problems: first.place(c.violations) };
    return { ok: true, value: slothSlos(c.value.spec.slos, 'k8s') };
  }
  if (!trees.every((t) => typeof top(t).apiVersion === 'string' && String(top(t).apiVersion).startsWith('openslo/'))) {
    const t = trees.find((x) => !String(top(x).apiVersion ?? '').startsWith('openslo/')) as Tree;
    const v = top(t).apiVersion;
    return {
      ok: false,
      problems: t.place([
        {
          path: v === undefined ? [] : ['apiVersion'],
          message:
            v === undefined
              ? 'not an SLO file Faultline reads: an OpenSLO document (apiVersion: openslo/v1, kind: SLO) or a Sloth file (version: prometheus/v1, or apiVersion: sloth.slok.dev/v1)'
              : `not an SLO file Faultline reads: apiVersion ${show(v)}; OpenSLO's is openslo/v1, Sloth's sloth.slok.dev/v1`,
        },
      ]),
    };
  }
  const problems: Problem[] = [];
  const docs: Doc[] = [];
  for (const t of trees) {
    const c = checkKind(openSloKind, t.data);
    if (c.ok) docs.push({ tree: t, value: c.value });
    else problems.push(...t.place(c.violations));
  }
  const slos = openSlos(docs, problems);
  return problems.length ? { ok: false, problems } : { ok: true, value: slos };
}

/** Reads an SLO file (bounded, never blocking) and parses it. */
export function parseSloFile(file: string): Parsed<SloSpec[]> {
  const t = readDocumentFileSync(file, 'SLO file');
  return t.ok ? parseSloText(t.value, file) : t;
}

// --- the experiment's resolve step ---------------------------------------------------------------------------

const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * An experiment's `judge.metrics[].slo: FILE` read and replaced: the metric gets the SLO's events, its name
 * (unless it names one of the file's SLOs itself) and `slo` as the judge reads it. Everything else is left
 * to the schema; problems with the reference are violations at the metric's fields, problems inside the SLO
 * file are positioned in it.
 */
export function resolveSloRefs(data: unknown, file: string): Resolved {
  const violations: Violation[] = [];
  const problems: Problem[] = [];
  const judge = isMapping(data) ? data.judge : undefined;
  const metrics = isMapping(judge) ? judge.metrics : undefined;
  if (!Array.isArray(metrics) || !metrics.some((m) => isMapping(m) && 'slo' in m))
    return { data, violations, problems };
  const resolved = metrics.map((m, i) => {
    if (!isMapping(m) || !('slo' in m)) return m;
    const at = ['judge', 'metrics', i];
    const ref = m.slo;
    if (typeof ref !== 'string' || !ref.trim()) {
      violations.push({
        path: [...at, 'slo'],
        message: `must be the path of an OpenSLO or Sloth SLO file (relative to this file), not ${show(ref)}`,
      });
      return m;
    }
    if ('events' in m) {
      violations.push({
        path: [...at, 'events'],
        key: true,
        message: 'give slo or events, not both (the SLO file gives the events)',
      });
      return m;
    }
    const sloFile = resolveRelative(file, ref);
    const r = parseSloFile(sloFile);
    if (!r.ok) {
      const aboutFile = r.problems.length === 1 && r.problems[0]?.line === undefined;
      violations.push({
        path: [...at, 'slo'],
        message: aboutFile
          ? `${ref}: ${r.problems[0]?.message} (looked for ${sloFile})`
          : `${ref} is not an SLO file Faultline can judge`,
      });
      if (!aboutFile) problems.push(...r.problems);
      return m;
    }
    const wanted = typeof m.name === 'string' ? m.name : undefined;
    const known = r.value.map((s) => s.name).join(', ');
    const slo =
      wanted === undefined ? (r.value.length === 1 ? r.value[0] : undefined) : r.value.find((s) => s.name === wanted);
    if (!slo) {
      violations.push(
        wanted === undefined
          ? {
              path: [...at, 'slo'],
              message: `${ref} holds ${r.value.length} SLOs (${known}): name the one to judge with name:`,
            }
          : { path: [...at, 'name'], message: `no SLO named "${wanted}" in ${ref}; it has: ${known}` },
      );
      return m;
    }
    const { slo: _ref, ...rest } = m;
    return {
      ...rest,
      name: slo.name,
      events: slo.events,
      slo: {
        file: ref,
        format: slo.format,
        name: slo.name,
        objective: slo.objective,
        window: slo.window,
        windowMs: slo.windowMs,
      },
    };
  });
  return {
    data: { ...(data as Record<string, unknown>), judge: { ...(judge as Record<string, unknown>), metrics: resolved } },
    violations,
    problems,
  };
}
