// Chaos Toolkit experiments as Faultline experiments (`faultline import ctk FILE`). Pure: plain data in (the
// CTK file as parsed), a Faultline experiment out, with every part of the source that has no Faultline
// equivalent listed by its path (`unmapped`) and every part mapped with a change of meaning said (`notes`).
// Nothing is dropped without one of the two.
//
// What maps: the steady-state hypothesis's HTTP probes with their status tolerances (one request each, as
// Chaos Toolkit sends); `docker kill|stop|restart|pause|network disconnect` process actions (container
// faults on the named containers); chaostoolkit-toxiproxy's latency, bandwidth, timeout and reset_peer toxics
// and disable_proxy (proxy faults on the named route). Their undo (`docker start|unpause|network connect`,
// `delete_toxic`, `enable_proxy`, `reset`), in the rollbacks or later in the method, ends the fault's window:
// Faultline reverts by itself, so the undo is not carried as an action.
import type { Path, Violation } from './document.ts';

export interface CtkImportOptions {
  /** A fault's window when the source's pauses give none (Chaos Toolkit's actions have no duration). */
  defaultDuration: string;
}

export interface CtkImport {
  /** The Faultline experiment (before its own schema's defaults); absent when nothing could make one. */
  experiment?: Record<string, unknown>;
  /** What has no Faultline equivalent: refused, by its path in the source. */
  unmapped: Violation[];
  /** What was mapped with a change of meaning, or a default Faultline chose. */
  notes: Violation[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const TOP_LEVEL = new Set([
  'version',
  'title',
  'description',
  'tags',
  'contributions',
  'extensions',
  'configuration',
  'secrets',
  'steady-state-hypothesis',
  'method',
  'rollbacks',
  'controls',
  'runtime',
]);
/** Chaos Toolkit's HTTP provider waits 30 s when no timeout is given; Faultline's probes at most 60 s. */
const CTK_HTTP_TIMEOUT_S = 30;
const MAX_PROBE_TIMEOUT_S = 60;
const MAX_GRACE_S = 25;

/** A fault mapped from one action, and how its undo is recognised. */
interface Mapped {
  fault: Obj;
  /** Container names (container faults) or the proxy route (proxy faults). */
  containers?: string[];
  route?: string;
  /** Whether an action undoes this fault. */
  undoneBy(u: Undo): boolean;
  /** What Chaos Toolkit would have left behind without an undo, said when there is none. */
  withoutUndo: string;
}

/** An action that undoes a fault (a rollback, or a later action in the method). */
type Undo =
  | { kind: 'docker'; verb: 'start' | 'unpause'; names: string[] }
  | { kind: 'docker-connect'; network: string; name: string }
  | { kind: 'delete-toxic'; route: string; toxic: string }
  | { kind: 'enable-proxy'; route: string }
  | { kind: 'toxiproxy-reset' };

interface Step {
  path: Path;
  name?: string;
  /** Seconds Chaos Toolkit waits before and after it (its pauses). */
  before: number;
  after: number;
  mapped?: Mapped & { toxic?: string };
  undo?: Undo;
}

export function importCtk(data: unknown, opts: CtkImportOptions): CtkImport {
  const unmapped: Violation[] = [];
  const notes: Violation[] = [];
  const refuse = (path: Path, message: string) => unmapped.push({ path, message });
  const note = (path: Path, message: string) => notes.push({ path, message });
  if (!isObj(data)) {
    refuse(
      [],
      'a Chaos Toolkit experiment is a mapping (a JSON object) with a title, a steady-state-hypothesis and a method',
    );
    return { unmapped, notes };
  }
  const config = configurationOf(data.configuration);
  const sub = new Substituter(config, refuse);

  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL.has(key)) refuse([key], `${key} is not a field of a Chaos Toolkit experiment Faultline knows`);
  }
  if ('secrets' in data)
    refuse(
      ['secrets'],
      'secrets are not carried: a Faultline file holds no secrets (a probe header takes its value as written)',
    );
  if ('controls' in data)
    refuse(['controls'], "controls run Chaos Toolkit extensions' code around the run; Faultline runs none");
  if ('runtime' in data)
    refuse(
      ['runtime'],
      'runtime strategies (hypothesis and rollback) have no equivalent: Faultline checks the steady state before and after, and always reverts',
    );
  if ('contributions' in data) note(['contributions'], 'contributions are not carried (Faultline has no such field)');
  if ('extensions' in data) note(['extensions'], 'extensions are not carried (Faultline has no such field)');

  const experiment: Obj = { apiVersion: 'faultline/v1' };
  const title = sub.string(data.title, ['title']);
  if (typeof title === 'string' && title.trim()) {
    experiment.title = title.slice(0, 200);
    if (title.length > 200) note(['title'], 'cut to 200 characters (the longest title Faultline takes)');
  } else if (typeof data.title !== 'string' || !data.title.trim())
    refuse(['title'], 'a title is needed (a non-empty string)');
  const description = sub.string(data.description, ['description']);
  if (typeof description === 'string' && description) experiment.description = description;
  if (Array.isArray(data.tags)) {
    const tags = data.tags.filter((t): t is string => typeof t === 'string' && t !== '');
    if (tags.length !== data.tags.length) refuse(['tags'], 'tags are non-empty strings');
    if (tags.length) experiment.tags = tags;
  } else if (data.tags !== undefined) refuse(['tags'], 'tags are a list of strings');

  // --- the steady-state hypothesis ------------------------------------------------------------------
  const ssh = data['steady-state-hypothesis'];
  const probes: Obj[] = [];
  if (!isObj(ssh)) {
    refuse(
      ssh === undefined ? [] : ['steady-state-hypothesis'],
      'no steady-state-hypothesis: a Faultline experiment states what must hold, checked by at least one probe',
    );
  } else {
    for (const key of Object.keys(ssh))
      if (key !== 'title' && key !== 'probes')
        refuse(['steady-state-hypothesis', key], `${key} in the hypothesis has no Faultline equivalent`);
    const statement = sub.string(ssh.title, ['steady-state-hypothesis', 'title']);
    if (typeof statement === 'string' && statement) experiment.hypothesis = { statement, probes };
    else refuse(['steady-state-hypothesis', 'title'], 'the hypothesis needs a title (it becomes the statement)');
    if (!Array.isArray(ssh.probes) || ssh.probes.length === 0)
      refuse(['steady-state-hypothesis', 'probes'], 'the hypothesis needs at least one probe');
    else
      ssh.probes.forEach((p, i) => {
        const probe = hypothesisProbe(p, ['steady-state-hypothesis', 'probes', i], sub, refuse, note);
        if (probe) probes.push(probe);
      });
  }

  // --- the method and the rollbacks ----------------------------------------------------------------
  const steps: Step[] = [];
  if (!Array.isArray(data.method))
    refuse(data.method === undefined ? [] : ['method'], 'a method (a list of actions) is needed');
  else data.method.forEach((a, i) => steps.push(methodStep(a, ['method', i], sub, refuse)));
  const rollbacks: { path: Path; undo?: Undo }[] = [];
  if (Array.isArray(data.rollbacks))
    data.rollbacks.forEach((a, i) =>
      rollbacks.push({ path: ['rollbacks', i], undo: undoOf(a, ['rollbacks', i], sub) }),
    );
  else if (data.rollbacks !== undefined) refuse(['rollbacks'], 'rollbacks are a list of actions');

  const method: Obj[] = [];
  let targets: string[] | undefined;
  const routes = new Set<string>();
  const usedRollbacks = new Set<number>();
  let firstAt: number | undefined;
  let clock = 0; // seconds since the method began, by the pauses alone
  steps.forEach((s, i) => {
    clock += s.before;
    const m = s.mapped;
    if (m) {
      // Its window: until the action in the method that undoes it, else until the method ends (Chaos Toolkit
      // runs its rollbacks after the method and the hypothesis after it).
      let end = steps.reduce((t, x) => t + x.before + x.after, 0);
      let undone = false;
      let t = clock;
      for (let j = i + 1; j < steps.length; j++) {
        t += steps[j - 1]!.after + steps[j]!.before;
        const u = steps[j]!.undo;
        if (u && m.undoneBy(u)) {
          end = t;
          undone = true;
          steps[j]!.undo = undefined; // consumed
          note(steps[j]!.path, `undoes ${pathText(s.path)}: Faultline reverts it by itself when its window ends`);
          break;
        }
      }
      if (!undone) {
        const r = rollbacks.findIndex((x, k) => !usedRollbacks.has(k) && x.undo !== undefined && m.undoneBy(x.undo));
        if (r !== -1) {
          usedRollbacks.add(r);
          undone = true;
          note(rollbacks[r]!.path, `undoes ${pathText(s.path)}: Faultline reverts it by itself when its window ends`);
        } else note(s.path, m.withoutUndo);
      }
      const seconds = end - clock;
      if (seconds > 0) m.fault.duration = formatSeconds(seconds);
      else {
        m.fault.duration = opts.defaultDuration;
        note(
          s.path,
          `no pause gives this fault a window: it lasts ${opts.defaultDuration} (--duration), then Faultline reverts it`,
        );
      }
      if (m.containers) {
        if (targets === undefined) targets = m.containers;
        else if (!sameSet(targets, m.containers)) {
          refuse(
            s.path,
            `Faultline applies every container fault to one selection of targets: this action names ${m.containers.join(', ')}, an earlier one ${targets.join(', ')} (split it into two experiments)`,
          );
          clock += s.after;
          return;
        }
      }
      if (m.route) routes.add(m.route);
      m.fault.description = `from Chaos Toolkit's ${pathText(s.path)}${s.name ? ` (${s.name})` : ''}`;
      if (firstAt === undefined) firstAt = clock;
      else if (clock > firstAt)
        note(
          s.path,
          `injected together with the method's first fault (Chaos Toolkit started it ${formatSeconds(clock - firstAt)} after it): Faultline injects a method's faults at once`,
        );
      method.push(m.fault);
    }
    clock += s.after;
  });
  for (const s of steps) if (s.undo) refuse(s.path, 'undoes nothing this experiment injects before it');
  rollbacks.forEach((r, k) => {
    if (usedRollbacks.has(k)) return;
    refuse(
      r.path,
      r.undo
        ? 'a rollback that undoes nothing the method injects'
        : "a rollback with no Faultline equivalent (Faultline's own revert undoes exactly what it injected, nothing else)",
    );
  });
  if (Array.isArray(data.method) && method.length === 0)
    refuse(
      ['method'],
      'no action of the method maps to a Faultline fault: a Faultline experiment injects at least one',
    );

  experiment.method = method;
  if (targets) experiment.targets = { names: targets, mode: 'all' };
  const reach = (targets?.length ?? 0) + routes.size;
  experiment.blastRadius = { maxTargets: Math.max(1, reach) };
  return { experiment, unmapped, notes };
}

// --- the hypothesis' probes -----------------------------------------------------------------------------

const ACTIVITY_KEYS = new Set(['type', 'name', 'provider', 'tolerance', 'pauses']);
const HTTP_PROVIDER_KEYS = new Set(['type', 'url', 'method', 'headers', 'timeout', 'arguments']);

function hypothesisProbe(
  p: unknown,
  at: Path,
  sub: Substituter,
  refuse: (path: Path, message: string) => void,
  note: (path: Path, message: string) => void,
): Obj | undefined {
  if (!isObj(p)) return void refuse(at, 'a probe is a mapping');
  if ('ref' in p) return void refuse(at, 'a reference to another activity: write the probe itself here');
  const provider = p.provider;
  if (!isObj(provider)) return void refuse([...at, 'provider'], 'a probe needs a provider');
  if (provider.type === 'process')
    return void refuse(
      [...at, 'provider'],
      `a process probe (${String(provider.path)}): Faultline runs no local command as a probe; its probes are HTTP requests and Prometheus queries`,
    );
  if (provider.type === 'python')
    return void refuse(
      [...at, 'provider'],
      `a Python probe (${String(provider.module)}.${String(provider.func)}): Faultline runs no Chaos Toolkit extension code; its probes are HTTP requests and Prometheus queries`,
    );
  if (provider.type !== 'http') return void refuse([...at, 'provider', 'type'], 'an unknown provider type');
  let ok = true;
  for (const key of Object.keys(p))
    if (!ACTIVITY_KEYS.has(key)) {
      refuse([...at, key], `${key} on a probe has no Faultline equivalent`);
      ok = false;
    }
  for (const key of Object.keys(provider))
    if (!HTTP_PROVIDER_KEYS.has(key)) {
      refuse([...at, 'provider', key], `${key} on an HTTP provider has no Faultline equivalent`);
      ok = false;
    }
  if ('pauses' in p) note([...at, 'pauses'], 'pauses around a hypothesis probe are not carried');
  const name = typeof p.name === 'string' && p.name ? p.name : `probe-${String(at[at.length - 1])}`;
  const url = sub.string(provider.url, [...at, 'provider', 'url']);
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    refuse([...at, 'provider', 'url'], 'an http:// or https:// URL is needed');
    ok = false;
  }
  const probe: Obj = { name, type: 'http', url, requests: 1 };
  const method = sub.string(provider.method ?? 'GET', [...at, 'provider', 'method']);
  if (typeof method === 'string') probe.method = method.toUpperCase();
  if (provider.headers !== undefined) {
    const headers: Record<string, string> = {};
    if (!isObj(provider.headers)) refuse([...at, 'provider', 'headers'], 'headers are a mapping');
    else
      for (const [k, v] of Object.entries(provider.headers)) {
        const s = sub.string(typeof v === 'number' ? String(v) : v, [...at, 'provider', 'headers', k]);
        if (typeof s === 'string') headers[k] = s;
        else ok = false;
      }
    probe.headers = headers;
  }
  if (provider.arguments !== undefined && provider.arguments !== null) {
    if (!isObj(provider.arguments)) {
      refuse([...at, 'provider', 'arguments'], 'arguments are a mapping');
      ok = false;
    } else if (probe.method === 'GET' && typeof url === 'string') {
      const u = new URL(url);
      for (const [k, v] of Object.entries(provider.arguments)) u.searchParams.append(k, String(v));
      probe.url = u.toString();
    } else {
      probe.body = JSON.stringify(provider.arguments);
      const h = (probe.headers ?? {}) as Record<string, string>;
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
        h['Content-Type'] = 'application/json';
        note([...at, 'provider', 'arguments'], 'sent as a JSON body (Content-Type: application/json)');
      }
      probe.headers = h;
    }
  }
  const timeout = sub.value(provider.timeout ?? CTK_HTTP_TIMEOUT_S, [...at, 'provider', 'timeout']);
  const seconds = Array.isArray(timeout) ? Math.max(...timeout.map(Number)) : Number(timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    refuse([...at, 'provider', 'timeout'], 'a timeout is a number of seconds, or [connect, read]');
    ok = false;
  } else if (seconds > MAX_PROBE_TIMEOUT_S) {
    probe.timeout = `${MAX_PROBE_TIMEOUT_S}s`;
    note(
      [...at, 'provider', 'timeout'],
      `${seconds} s is more than a Faultline probe waits: it waits ${MAX_PROBE_TIMEOUT_S}s`,
    );
  } else probe.timeout = formatSeconds(seconds);
  const status = expectedStatus(p.tolerance);
  if ('error' in status) {
    refuse([...at, 'tolerance'], status.error);
    ok = false;
  } else {
    probe.expectStatus = status.status;
    probe.tolerance = { maxErrorRate: 0 };
  }
  return ok ? probe : undefined;
}

/** A CTK tolerance on an HTTP probe as the statuses Faultline accepts. */
function expectedStatus(t: unknown): { status: number | number[] } | { error: string } {
  const isStatus = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599;
  if (t === undefined) return { error: 'a hypothesis probe needs a tolerance' };
  if (isStatus(t)) return { status: t };
  if (Array.isArray(t) && t.length > 0 && t.every(isStatus)) return { status: t };
  if (isObj(t) && t.type === 'range' && t.target === 'status' && Array.isArray(t.range)) {
    const [a, b] = t.range as unknown[];
    if (isStatus(a) && isStatus(b) && a <= b) return { status: Array.from({ length: b - a + 1 }, (_, i) => a + i) };
  }
  const what = isObj(t)
    ? `a ${String(t.type)} tolerance${t.target ? ` on ${String(t.target)}` : ''}`
    : `the tolerance ${JSON.stringify(t)}`;
  return {
    error: `${what}: Faultline judges an HTTP probe by its status (a number, a list, or a range on status), error rate and latency, never its body or headers`,
  };
}

// --- the method's actions -------------------------------------------------------------------------------

function methodStep(a: unknown, at: Path, sub: Substituter, refuse: (path: Path, message: string) => void): Step {
  const step: Step = { path: at, before: 0, after: 0 };
  if (!isObj(a)) {
    refuse(at, 'an activity is a mapping');
    return step;
  }
  if (typeof a.name === 'string') step.name = a.name.slice(0, 200);
  if (isObj(a.pauses)) {
    step.before = seconds(sub.value(a.pauses.before ?? 0, [...at, 'pauses', 'before']));
    step.after = seconds(sub.value(a.pauses.after ?? 0, [...at, 'pauses', 'after']));
  }
  if ('ref' in a) {
    refuse(at, 'a reference to another activity: write the action itself here');
    return step;
  }
  if (a.type === 'probe') {
    refuse(
      at,
      "a probe in the method: Chaos Toolkit only records its output; Faultline's hypothesis probes run before and after the faults, and a guard watches during them",
    );
    return step;
  }
  if (a.background === true)
    refuse([...at, 'background'], 'a background action: Faultline injects the method’s faults at once anyway');
  const undo = undoOf(a, at, sub);
  if (undo) {
    step.undo = undo;
    return step;
  }
  const m = mapAction(a, at, sub, refuse);
  if (!m) return step;
  // A mapped action carries nothing else: any other field (controls, a timeout, a provider's secrets) would
  // be lost, so it is listed.
  let extra = false;
  for (const key of Object.keys(a))
    if (!['type', 'name', 'provider', 'pauses', 'background'].includes(key)) {
      refuse([...at, key], `${key} on an action has no Faultline equivalent`);
      extra = true;
    }
  const provider = a.provider as Obj;
  const known = provider.type === 'process' ? ['type', 'path', 'arguments'] : ['type', 'module', 'func', 'arguments'];
  for (const key of Object.keys(provider))
    if (!known.includes(key)) {
      refuse([...at, 'provider', key], `${key} on a ${String(provider.type)} provider has no Faultline equivalent`);
      extra = true;
    }
  if (!extra) step.mapped = m;
  return step;
}

function seconds(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** A process provider's arguments as words (a string is split on spaces; Chaos Toolkit uses shlex). */
function argv(provider: Obj, at: Path, sub: Substituter): string[] | undefined {
  const raw = sub.value(provider.arguments ?? [], [...at, 'provider', 'arguments']);
  if (typeof raw === 'string') return /["'\\]/.test(raw) ? undefined : raw.split(/\s+/).filter(Boolean);
  if (Array.isArray(raw) && raw.every((w) => typeof w === 'string' || typeof w === 'number')) return raw.map(String);
  return undefined;
}

const isDocker = (provider: Obj) => typeof provider.path === 'string' && /(^|\/)docker$/.test(provider.path);

function undoOf(a: unknown, at: Path, loud: Substituter): Undo | undefined {
  if (!isObj(a) || !isObj(a.provider) || a.type === 'probe') return undefined;
  const p = a.provider;
  const sub = loud.quiet(); // what is not an undo is mapped (and its problems said) by mapAction
  if (p.type === 'process' && isDocker(p)) {
    const w = argv(p, at, sub) ?? [];
    if ((w[0] === 'start' || w[0] === 'unpause') && w.length > 1 && w.slice(1).every((x) => !x.startsWith('-')))
      return { kind: 'docker', verb: w[0], names: w.slice(1) };
    if (w[0] === 'network' && w[1] === 'connect' && w.length === 4)
      return { kind: 'docker-connect', network: w[2]!, name: w[3]! };
    return undefined;
  }
  if (p.type !== 'python') return undefined;
  const args = isObj(p.arguments) ? p.arguments : {};
  const str = (k: string) => {
    const v = sub.value(args[k], [...at, 'provider', 'arguments', k]);
    return typeof v === 'string' ? v : undefined;
  };
  if (p.module === 'chaostoxi.toxic.actions' && p.func === 'delete_toxic') {
    const route = str('for_proxy');
    const toxic = str('toxic_name');
    return route && toxic ? { kind: 'delete-toxic', route, toxic } : undefined;
  }
  if (p.module === 'chaostoxi.proxy.actions' && p.func === 'enable_proxy') {
    const route = str('proxy_name');
    return route ? { kind: 'enable-proxy', route } : undefined;
  }
  if (p.module === 'chaostoxi.proxy.actions' && p.func === 'reset') return { kind: 'toxiproxy-reset' };
  return undefined;
}

function mapAction(a: Obj, at: Path, sub: Substituter, refuse: (path: Path, message: string) => void): Step['mapped'] {
  const p = a.provider;
  if (!isObj(p)) return void refuse([...at, 'provider'], 'an action needs a provider');
  if (p.type === 'process') {
    if (!isDocker(p))
      return void refuse(
        [...at, 'provider'],
        `a process action (${String(p.path)}): Faultline maps only docker kill, stop, restart, pause and network disconnect`,
      );
    const w = argv(p, at, sub);
    if (!w)
      return void refuse(
        [...at, 'provider', 'arguments'],
        'docker arguments as a list of words, or a string without quotes',
      );
    return dockerAction(w, at, refuse);
  }
  if (p.type === 'python') {
    const args = isObj(p.arguments) ? p.arguments : {};
    const v = (k: string) => sub.value(args[k], [...at, 'provider', 'arguments', k]);
    if (p.module === 'chaostoxi.toxic.actions') return toxicAction(String(p.func), v, at, refuse);
    if (p.module === 'chaostoxi.proxy.actions' && p.func === 'disable_proxy') {
      const route = v('proxy_name');
      if (typeof route !== 'string' || !route)
        return void refuse([...at, 'provider', 'arguments', 'proxy_name'], 'a route name is needed');
      return {
        fault: { kind: 'proxy.partition', proxy: route, mode: 'down' },
        route,
        undoneBy: (u) => (u.kind === 'enable-proxy' && u.route === route) || u.kind === 'toxiproxy-reset',
        withoutUndo: `Chaos Toolkit leaves route ${route} disabled without enable_proxy; Faultline enables it again when the window ends`,
      };
    }
    if (String(p.module).startsWith('chaostoxi.'))
      return void refuse(
        [...at, 'provider', 'func'],
        `${String(p.func)}: routes are set up on Faultline's proxy (faultline proxy --config), not by an experiment`,
      );
    return void refuse(
      [...at, 'provider'],
      `a Python action (${String(p.module)}.${String(p.func)}): Faultline runs no Chaos Toolkit extension code and has no equivalent fault`,
    );
  }
  if (p.type === 'http')
    return void refuse(
      [...at, 'provider'],
      'an HTTP action: Faultline sends no requests as faults (its http.* faults act on a proxy route)',
    );
  return void refuse([...at, 'provider', 'type'], 'an unknown provider type');
}

function dockerAction(w: string[], at: Path, refuse: (path: Path, message: string) => void): Step['mapped'] {
  const where: Path = [...at, 'provider', 'arguments'];
  const verb = w[0];
  const rest = w.slice(1);
  const restart = (names: string[]) => (u: Undo) =>
    u.kind === 'docker' && u.verb === 'start' && sameSet(u.names, names);
  if (verb === 'kill' || verb === 'stop' || verb === 'restart' || verb === 'pause') {
    let signal: string | undefined;
    let grace: number | undefined;
    const names: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const x = rest[i]!;
      const eq = x.indexOf('=');
      const [flag, inline] = x.startsWith('--') && eq !== -1 ? [x.slice(0, eq), x.slice(eq + 1)] : [x, undefined];
      const value = () => inline ?? rest[++i];
      if (verb === 'kill' && (flag === '-s' || flag === '--signal')) signal = value();
      else if ((verb === 'stop' || verb === 'restart') && (flag === '-t' || flag === '--time' || flag === '--timeout'))
        grace = Number(value());
      else if (x.startsWith('-'))
        return void refuse(where, `docker ${verb} ${x}: an option Faultline has no equivalent for`);
      else names.push(x);
    }
    if (!names.length) return void refuse(where, `docker ${verb} names no container`);
    if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0 && grace <= MAX_GRACE_S))
      return void refuse(where, `a grace period of ${grace} s: Faultline waits 0 to ${MAX_GRACE_S} s`);
    const list = names.join(', ');
    if (verb === 'kill')
      return {
        fault: { kind: 'container.kill', ...(signal ? { signal } : {}) },
        containers: names,
        undoneBy: restart(names),
        withoutUndo: `Chaos Toolkit leaves ${list} killed without a docker start; Faultline starts it again when the window ends`,
      };
    if (verb === 'stop')
      return {
        fault: { kind: 'container.stop', ...(grace !== undefined ? { gracePeriod: grace } : {}) },
        containers: names,
        undoneBy: restart(names),
        withoutUndo: `Chaos Toolkit leaves ${list} stopped without a docker start; Faultline starts it again when the window ends`,
      };
    if (verb === 'restart')
      return {
        fault: { kind: 'container.restart', ...(grace !== undefined ? { gracePeriod: grace } : {}) },
        containers: names,
        undoneBy: () => false,
        withoutUndo: 'a restart leaves nothing to undo',
      };
    return {
      fault: { kind: 'container.pause' },
      containers: names,
      undoneBy: (u) => u.kind === 'docker' && u.verb === 'unpause' && sameSet(u.names, names),
      withoutUndo: `Chaos Toolkit leaves ${list} paused without a docker unpause; Faultline unpauses it when the window ends`,
    };
  }
  if (verb === 'network' && rest[0] === 'disconnect') {
    const words = rest.slice(1).filter((x) => x !== '-f' && x !== '--force');
    if (words.length !== 2 || words.some((x) => x.startsWith('-')))
      return void refuse(where, 'docker network disconnect [-f] NETWORK CONTAINER is what maps');
    const [network, name] = words as [string, string];
    return {
      fault: { kind: 'network.partition', network },
      containers: [name],
      undoneBy: (u) => u.kind === 'docker-connect' && u.network === network && u.name === name,
      withoutUndo: `Chaos Toolkit leaves ${name} off ${network} without a docker network connect; Faultline connects it again (same aliases) when the window ends`,
    };
  }
  return void refuse(
    where,
    `docker ${verb ?? ''}: Faultline maps only docker kill, stop, restart, pause and network disconnect`,
  );
}

/** chaostoolkit-toxiproxy's toxic actions (chaostoxi.toxic.actions) as proxy faults. */
function toxicAction(
  func: string,
  v: (k: string) => unknown,
  at: Path,
  refuse: (path: Path, message: string) => void,
): Step['mapped'] {
  const argPath = (k: string): Path => [...at, 'provider', 'arguments', k];
  const route = v('for_proxy');
  const toxic = v('toxic_name');
  if (typeof route !== 'string' || !route) return void refuse(argPath('for_proxy'), 'a route name is needed');
  let type: string | undefined;
  let attrs: Obj = {};
  let stream: unknown = 'downstream';
  let toxicity: unknown = 1;
  if (func === 'create_latency_toxic') [type, attrs] = ['latency', { latency: v('latency'), jitter: v('jitter') ?? 0 }];
  else if (func === 'create_bandwith_degradation_toxic') [type, attrs] = ['bandwidth', { rate: v('rate') }];
  else if (func === 'create_timeout_toxic') [type, attrs] = ['timeout', { timeout: v('timeout') }];
  else if (func === 'create_toxic') {
    type = typeof v('toxic_type') === 'string' ? (v('toxic_type') as string) : undefined;
    attrs = isObj(v('attributes')) ? (v('attributes') as Obj) : {};
    stream = v('stream') ?? 'downstream';
    toxicity = v('toxicity') ?? 1;
  } else
    return void refuse(
      [...at, 'provider', 'func'],
      `${func}: Faultline's proxy faults are latency, bandwidth, timeout (a partition) and reset_peer toxics`,
    );
  if (stream !== 'downstream' && stream !== 'upstream')
    return void refuse(argPath('stream'), 'stream is upstream or downstream');
  if (typeof toxicity !== 'number' || !(toxicity > 0 && toxicity <= 1))
    return void refuse(argPath('toxicity'), 'toxicity is more than 0 up to 1 (0 touches no connection)');
  const ms = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : undefined);
  const base = { proxy: route, stream, ...(toxicity !== 1 ? { toxicity } : {}) };
  let fault: Obj;
  if (type === 'latency') {
    const latency = ms(attrs.latency);
    const jitter = ms(attrs.jitter ?? 0);
    if (!latency || jitter === undefined)
      return void refuse(
        argPath(func === 'create_toxic' ? 'attributes' : 'latency'),
        'latency (and jitter) in milliseconds, latency above 0',
      );
    fault = { kind: 'proxy.latency', ...base, latency: `${latency}ms`, jitter: `${jitter}ms` };
  } else if (type === 'bandwidth') {
    const rate = ms(attrs.rate);
    if (!rate || !Number.isInteger(rate))
      return void refuse(
        argPath(func === 'create_toxic' ? 'attributes' : 'rate'),
        'rate in KB/s, a whole number above 0',
      );
    fault = { kind: 'proxy.bandwidth', ...base, rate };
  } else if (type === 'timeout') {
    const t = ms(attrs.timeout);
    if (t === undefined)
      return void refuse(
        argPath(func === 'create_toxic' ? 'attributes' : 'timeout'),
        'timeout in milliseconds (0: hold the connections)',
      );
    if (toxicity !== 1)
      return void refuse(argPath('toxicity'), "a partition touches every connection: Faultline's has no toxicity");
    fault = {
      kind: 'proxy.partition',
      proxy: route,
      mode: 'timeout',
      stream,
      ...(t > 0 ? { closeAfter: `${t}ms` } : {}),
    };
  } else if (type === 'reset_peer') {
    const t = ms(attrs.timeout ?? 0);
    if (t === undefined) return void refuse(argPath('attributes'), 'timeout in milliseconds');
    fault = { kind: 'proxy.reset', ...base, after: `${t}ms` };
  } else
    return void refuse(
      argPath('toxic_type'),
      `a ${String(type)} toxic: Faultline's proxy faults are latency, bandwidth, timeout (a partition) and reset_peer`,
    );
  return {
    fault,
    route,
    toxic: typeof toxic === 'string' ? toxic : undefined,
    undoneBy: (u) =>
      (u.kind === 'delete-toxic' && u.route === route && u.toxic === toxic) || u.kind === 'toxiproxy-reset',
    withoutUndo: `Chaos Toolkit leaves the toxic on ${route} without delete_toxic; Faultline removes it when the window ends`,
  };
}

// --- configuration and ${...} substitution -------------------------------------------------------------

type ConfigValue = { value: unknown } | { from: string };

function configurationOf(c: unknown): Map<string, ConfigValue> {
  const m = new Map<string, ConfigValue>();
  if (!isObj(c)) return m;
  for (const [k, v] of Object.entries(c)) {
    if (isObj(v) && typeof v.type === 'string') {
      if (v.type === 'env' && 'default' in v)
        m.set(k, { from: `the environment variable ${String(v.key)} (default ${JSON.stringify(v.default)})` });
      else m.set(k, { from: v.type === 'env' ? `the environment variable ${String(v.key)}` : `a ${v.type} value` });
    } else m.set(k, { value: v });
  }
  return m;
}

/** Chaos Toolkit's `${name}` from the experiment's own configuration: literal values only. */
class Substituter {
  constructor(
    private readonly config: Map<string, ConfigValue>,
    private readonly refuse: (path: Path, message: string) => void,
  ) {}

  value(v: unknown, at: Path): unknown {
    if (typeof v !== 'string' || !v.includes('${')) return v;
    const whole = /^\$\{([^}]+)\}$/.exec(v);
    if (whole) {
      const c = this.lookup(whole[1]!, at);
      return c === undefined ? undefined : c;
    }
    let failed = false;
    const out = v.replace(/\$\{([^}]+)\}/g, (_, k: string) => {
      const c = this.lookup(k, at);
      if (c === undefined) failed = true;
      return String(c);
    });
    return failed ? undefined : out;
  }

  /** The same, saying nothing of what it cannot substitute. */
  quiet(): Substituter {
    return new Substituter(this.config, () => undefined);
  }

  string(v: unknown, at: Path): string | undefined {
    const s = this.value(v, at);
    return typeof s === 'string' ? s : typeof s === 'number' ? String(s) : undefined;
  }

  private lookup(key: string, at: Path): unknown {
    const c = this.config.get(key);
    if (c && 'value' in c) return c.value;
    this.refuse(
      at,
      c
        ? `\${${key}} comes from ${c.from}: a Faultline file takes no substitution; write the value`
        : `\${${key}} is not in the experiment's configuration (a secret or a value given at run time): write the value`,
    );
    return undefined;
  }
}

// --- small helpers --------------------------------------------------------------------------------------

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Seconds as a Faultline duration: 60 -> "60s", 0.5 -> "500ms". */
export function formatSeconds(s: number): string {
  return Number.isInteger(s) ? `${s}s` : `${Math.round(s * 1000)}ms`;
}

/** A source path as JSON path: ['method', 0, 'provider'] -> $.method[0].provider */
export function jsonPath(path: Path): string {
  return (
    '$' +
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_][\w]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
      .join('')
  );
}

const pathText = (p: Path) => p.join('.');
