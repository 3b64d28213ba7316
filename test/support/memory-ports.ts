// In-memory container and proxy ports for orchestration tests: they hold state (container states and
// networks, proxy rules with leases that expire on the clock, disabled proxies) and record every call
// with its time, the worker that made it, the activity (type, attempt, when that attempt was scheduled)
// and its effect. A worker marked dead makes no more calls: each of its calls hangs forever (until the
// test releases it at teardown), as if its process were gone. With useLeases(), container faults carry
// leases in an in-memory warden's ledger; lapse() is that warden taking every lease and reverting it.
import { Context } from '@temporalio/activity';
import type {
  ContainerInfo,
  ContainerPort,
  LapsedLease,
  Lease,
  LeasePort,
  Ports,
  ProxyPort,
  ToxicSpec,
} from '../../faults/ports.ts';
import { faultKind } from '../../faults/registry.ts';
import type {
  KernelPort,
  ResolverSpec,
  NetnsResult,
  NetnsSnapshot,
  NsProcess,
  OwnedChains,
  ProcessInfo,
  ResourceLimits,
} from '../../faults/kernel-ports.ts';

export type Effect = 'apply' | 'revert' | 'renew' | 'none';

export interface Call {
  t: number;
  worker: string;
  op: string;
  /** What the call touches: `container:ID`, `net:ID:NETWORK`, `toxic:PROXY/NAME`, `proxy:PROXY`. */
  key: string;
  effect: Effect;
  activity?: string;
  attempt?: number;
  scheduledAt?: number;
  /** The host whose agent's port made the call (container calls only). */
  host?: string;
}

/** The in-memory host every container lives on unless a test names another. */
export const MEMORY_HOST = 'memory';

interface Rule {
  spec: ToxicSpec;
  expiresAt: number;
}

export class MemoryWorld {
  readonly calls: Call[] = [];
  readonly containers = new Map<string, ContainerInfo>();
  /** proxy -> toxic name -> rule */
  readonly toxics = new Map<string, Map<string, Rule>>();
  /** proxy -> lease end of its disabled state */
  readonly disabled = new Map<string, number>();
  private readonly dead = new Set<string>();
  private readonly limbo: (() => void)[] = [];
  private released = false;
  private readonly failures: { op: string; key: string; left: number }[] = [];
  /** The in-memory warden's ledger: active leases, and what it did with the ones it took. */
  readonly leases = new Map<string, Lease>();
  readonly lapsed = new Map<string, LapsedLease>();
  private leasesOn = false;
  /** Called before each call takes effect (a test may kill the worker there, or delay the call). */
  onCall?: (c: { worker: string; op: string; key: string; activity?: string }) => void | Promise<void>;

  addContainer(
    name: string,
    networks: Record<string, string[]> = {},
    labels: Record<string, string> = {},
    host = MEMORY_HOST,
  ): string {
    const id = host === MEMORY_HOST ? `${name}-id` : `${host}.${name}-id`;
    this.containers.set(id, { id, name, labels, state: 'running', networks: structuredClone(networks), host });
    return id;
  }

  addProxy(name: string): void {
    this.toxics.set(name, new Map());
  }

  /** The next `times` calls of op on keys starting with key fail (Infinity: always). */
  failOn(op: string, key: string, times: number): void {
    for (const f of this.failures) if (f.op === op && f.key === key) f.left = 0;
    this.failures.push({ op, key, left: times });
  }

  isDead(worker: string): boolean {
    return this.dead.has(worker);
  }

  kill(worker: string): void {
    this.dead.add(worker);
  }

  /** Lets the calls of dead workers fail at last (teardown only), so their Worker objects can stop. */
  releaseTheDead(): void {
    this.released = true;
    for (const r of this.limbo.splice(0)) r();
  }

  /** A promise that never settles while the test runs: what a dead process's pending work becomes. */
  never<T>(): Promise<T> {
    if (this.released) return Promise.reject(new Error('dead worker released'));
    return new Promise<T>((_, reject) => this.limbo.push(() => reject(new Error('dead worker released'))));
  }

  /** Rules still on the proxies (expired leases dropped) and containers not as they began. */
  leftovers(): string[] {
    this.expire();
    const out: string[] = [];
    for (const [p, rules] of this.toxics) for (const n of rules.keys()) out.push(`toxic:${p}/${n}`);
    for (const p of this.disabled.keys()) out.push(`proxy:${p}`);
    for (const c of this.containers.values()) if (c.state !== 'running') out.push(`container:${c.id} ${c.state}`);
    return out;
  }

  /** Is any of these proxies carrying a rule or disabled, or any of these containers not running normally? */
  disturbed(proxies: string[], containers: string[], network?: string): boolean {
    this.expire();
    if (proxies.some((p) => (this.toxics.get(p)?.size ?? 0) > 0 || this.disabled.has(p))) return true;
    return containers.some((id) => {
      const c = this.containers.get(id);
      return !c || c.state !== 'running' || (network !== undefined && !(network in c.networks));
    });
  }

  private expire(): void {
    const now = Date.now();
    for (const [p, rules] of this.toxics)
      for (const [n, r] of rules) {
        if (r.expiresAt <= now) {
          rules.delete(n);
          this.calls.push({
            t: r.expiresAt,
            worker: 'proxy',
            op: 'leaseExpired',
            key: `toxic:${p}/${n}`,
            effect: 'revert',
          });
        }
      }
    for (const [p, until] of this.disabled) {
      if (until <= now) {
        this.disabled.delete(p);
        this.calls.push({ t: until, worker: 'proxy', op: 'leaseExpired', key: `proxy:${p}`, effect: 'revert' });
      }
    }
  }

  /** Runs one port call for worker: hangs if the worker is dead, records it, applies its effect. */
  private async call<T>(
    worker: string,
    op: string,
    key: string,
    fn: () => { effect: Effect; value: T },
    host?: string,
  ): Promise<T> {
    if (this.dead.has(worker)) return this.never<T>();
    await Promise.resolve(); // a port call is asynchronous, like the real ones
    if (this.dead.has(worker)) return this.never<T>();
    this.expire();
    let activity: string | undefined;
    let attempt: number | undefined;
    let scheduledAt: number | undefined;
    try {
      const info = Context.current().info;
      activity = info.activityType;
      attempt = info.attempt;
      scheduledAt = info.currentAttemptScheduledTimestampMs;
    } catch {
      /* called outside an activity (test setup) */
    }
    await this.onCall?.({ worker, op, key, activity });
    if (this.dead.has(worker)) return this.never<T>();
    const t = Date.now();
    const f = this.failures.find((x) => x.op === op && key.startsWith(x.key) && x.left > 0);
    if (f) {
      f.left--;
      this.calls.push({ t, worker, op, key, effect: 'none', activity, attempt, scheduledAt, host });
      throw new Error(`${op} ${key}: injected failure`);
    }
    const { effect, value } = fn();
    this.calls.push({ t, worker, op, key, effect, activity, attempt, scheduledAt, host });
    return value;
  }

  private container(id: string): ContainerInfo {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no such container ${id}`);
    return c;
  }

  /** One host's daemon as a port: it lists that host's containers; its calls are recorded with the host. */
  containerPort(worker: string, host = MEMORY_HOST): ContainerPort {
    const call = <T>(op: string, key: string, fn: () => { effect: Effect; value: T }) =>
      this.call(worker, op, key, fn, host);
    const setState = (
      id: string,
      op: string,
      from: ContainerInfo['state'][],
      to: ContainerInfo['state'],
      effect: Effect,
    ) =>
      call(op, `container:${id}`, () => {
        const c = this.container(id);
        if (!from.includes(c.state)) return { effect: 'none', value: undefined };
        c.state = to;
        return { effect, value: undefined };
      });
    return {
      daemon: async () => ({ id: `memory-daemon-${host}`, name: host }),
      list: async () =>
        this.dead.has(worker)
          ? this.never()
          : [...this.containers.values()].filter((c) => c.host === host).map((c) => structuredClone(c)),
      inspect: (id) =>
        call('inspect', `container:${id}`, () => {
          const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.name === id);
          return { effect: 'none', value: c ? structuredClone(c) : null };
        }),
      kill: (id) => setState(id, 'kill', ['running', 'paused'], 'exited', 'apply'),
      stop: (id) => setState(id, 'stop', ['running', 'paused'], 'exited', 'apply'),
      start: (id) => setState(id, 'start', ['exited', 'created', 'dead'], 'running', 'revert'),
      restart: (id) => setState(id, 'restart', ['running', 'exited', 'paused'], 'running', 'apply'),
      pause: (id) => setState(id, 'pause', ['running'], 'paused', 'apply'),
      unpause: (id) => setState(id, 'unpause', ['paused'], 'running', 'revert'),
      disconnect: (network, id) =>
        call('disconnect', `net:${id}:${network}`, () => {
          const c = this.container(id);
          if (!(network in c.networks)) return { effect: 'none', value: undefined };
          delete c.networks[network];
          return { effect: 'apply', value: undefined };
        }),
      connect: (network, id, aliases) =>
        call('connect', `net:${id}:${network}`, () => {
          const c = this.container(id);
          if (network in c.networks) return { effect: 'none', value: undefined };
          c.networks[network] = [...aliases];
          return { effect: 'revert', value: undefined };
        }),
      // The daemon's event log: the calls that changed something, as Docker names them.
      events: (id, since, network) => {
        const key = network ? `net:${id}:${network}` : `container:${id}`;
        const from = Date.parse(since);
        const actions: Record<string, string[]> = {
          kill: ['die'],
          stop: ['die'],
          restart: ['die', 'start'],
        };
        return call('events', key, () => ({
          effect: 'none',
          value: this.calls
            .filter((c) => c.key === key && c.effect !== 'none' && c.effect !== 'renew' && c.t >= from)
            .flatMap((c) => (actions[c.op] ?? [c.op]).map((action) => ({ action, at: new Date(c.t).toISOString() }))),
        }));
      },
    };
  }

  proxyPort(worker: string): ProxyPort {
    const rules = (p: string) => {
      const r = this.toxics.get(p);
      if (!r) throw new Error(`proxy not found: ${p}`);
      return r;
    };
    return {
      listProxies: async () => (this.dead.has(worker) ? this.never() : [...this.toxics.keys()]),
      addToxic: (p, toxic, leaseMs) =>
        this.call(worker, 'addToxic', `toxic:${p}/${toxic.name}`, () => {
          rules(p).set(toxic.name, { spec: toxic, expiresAt: Date.now() + leaseMs });
          return { effect: 'apply', value: undefined };
        }),
      // A progressive exposure's step: the rule updated in place under a new lease, never re-added.
      updateToxic: (p, name, change, leaseMs) =>
        this.call(worker, 'updateToxic', `toxic:${p}/${name}`, () => {
          const r = rules(p).get(name);
          if (!r) return { effect: 'none', value: false };
          r.spec = { ...r.spec, ...change, attributes: change.attributes ?? r.spec.attributes };
          r.expiresAt = Date.now() + leaseMs;
          return { effect: 'renew', value: true };
        }),
      removeToxic: (p, name) =>
        this.call(worker, 'removeToxic', `toxic:${p}/${name}`, () => ({
          effect: rules(p).delete(name) ? 'revert' : 'none',
          value: undefined,
        })),
      renewToxic: (p, name, leaseMs) =>
        this.call(worker, 'renewToxic', `toxic:${p}/${name}`, () => {
          const r = rules(p).get(name);
          if (!r) return { effect: 'none', value: false };
          r.expiresAt = Date.now() + leaseMs;
          return { effect: 'renew', value: true };
        }),
      setEnabled: (p, enabled, leaseMs) =>
        this.call(worker, enabled ? 'enable' : 'disable', `proxy:${p}`, () => {
          rules(p);
          if (enabled) return { effect: this.disabled.delete(p) ? 'revert' : 'none', value: undefined };
          this.disabled.set(p, Date.now() + (leaseMs ?? 3_600_000));
          return { effect: 'apply', value: undefined };
        }),
      inspectProxy: (p) =>
        this.call(worker, 'inspectProxy', `proxy:${p}`, () => {
          const r = this.toxics.get(p);
          return {
            effect: 'none',
            value: r ? { enabled: !this.disabled.has(p), toxics: [...r.keys()] } : null,
          };
        }),
      // The proxy's record of removed rules: the last removal that took effect (a DELETE or its lease lapsing).
      removedToxic: (p, name) =>
        this.call(worker, 'removedToxic', `toxic:${p}/${name}`, () => {
          if (rules(p).has(name)) return { effect: 'none', value: null };
          const last = this.calls.filter((c) => c.key === `toxic:${p}/${name}` && c.effect !== 'none').at(-1);
          const value =
            last && last.effect === 'revert'
              ? {
                  at: new Date(last.t).toISOString(),
                  by: last.op === 'leaseExpired' ? ('lease' as const) : ('api' as const),
                }
              : null;
          return { effect: 'none', value };
        }),
      renewDisabled: (p, leaseMs) =>
        this.call(worker, 'renewDisabled', `proxy:${p}`, () => {
          rules(p);
          if (!this.disabled.has(p)) return { effect: 'none', value: false };
          this.disabled.set(p, Date.now() + leaseMs);
          return { effect: 'renew', value: true };
        }),
    };
  }

  /** Container faults carry leases (for workers started from now on). */
  useLeases(): void {
    this.leasesOn = true;
  }

  leasePort(worker: string): LeasePort {
    const op = <T>(name: string, id: string, fn: () => T) =>
      this.call(worker, name, `lease:${id}`, () => ({ effect: 'none' as const, value: fn() }));
    return {
      ready: () => op('leaseReady', '-', () => undefined),
      grant: (l) => op('grantLease', l.id, () => void this.leases.set(l.id, structuredClone(l))),
      renew: (id) => op('renewLease', id, () => this.leases.has(id)),
      release: (id) => op('releaseLease', id, () => void this.leases.delete(id)),
      lapsed: (id) => op('lapsedLease', id, () => structuredClone(this.lapsed.get(id))),
    };
  }

  /** The warden: every lease lapses now; it takes each and reverts its fault (which may fail, see failOn). */
  async lapse(): Promise<LapsedLease[]> {
    const out: LapsedLease[] = [];
    for (const lease of [...this.leases.values()]) {
      this.leases.delete(lease.id);
      const rec: LapsedLease = { lease, lapsedAt: new Date().toISOString() };
      try {
        await faultKind(lease.kind)?.revert(this.ports('warden'), lease.handle);
        rec.revertedAt = new Date().toISOString();
      } catch (e) {
        rec.error = (e as Error).message;
      }
      this.lapsed.set(lease.id, rec);
      out.push(rec);
    }
    return out;
  }

  ports(worker: string, host = MEMORY_HOST): Ports {
    return {
      containers: this.containerPort(worker, host),
      proxy: this.proxyPort(worker),
      ...(this.leasesOn ? { leases: this.leasePort(worker) } : {}),
      kernel: this.kernelPort(worker),
    };
  }

  // --- the kernel port: network namespaces (rules, qdiscs) and stressors in containers' cgroups -------------

  /** container id -> its network namespace: identity, rules in iptables-save form, root qdiscs by device. */
  readonly namespaces = new Map<
    string,
    { netns: string; rules: string[]; qdiscs: Map<string, string>; links: { name: string; mac: string }[] }
  >();
  /** stressor name -> the container it runs in and its stress-ng arguments. */
  readonly stressors = new Map<string, { containerId: string; args: string[]; cpus?: number }>();
  /** dns.* resolvers by name: the container whose namespace they share and their configuration. */
  readonly resolvers = new Map<string, { containerId: string; config: ResolverSpec['config'] }>();
  /** Nameservers of each container's /etc/resolv.conf (default: Docker's embedded 127.0.0.11). */
  readonly nameservers = new Map<string, string[]>();
  /** Resource limits per container id (none: no limit). */
  readonly limits = new Map<string, Omit<ResourceLimits, 'hostCpus' | 'hostMemoryBytes'>>();
  /** Addresses per container id (a peer a fault names). */
  readonly addresses = new Map<string, string[]>();
  private netnsSeq = 4026532000;
  /** Processes of each container's PID namespace (default: its main process, `app`, as PID 1). */
  readonly nsProcs = new Map<string, NsProcess[]>();

  /** Files each container holds (`dir/file` -> bytes), and its filesystem's free bytes. */
  readonly files = new Map<string, Map<string, number>>();
  readonly freeBytes = new Map<string, number>();
  /** Paths inside each container that are symbolic links. */
  readonly links = new Map<string, string[]>();

  private nsProcsOf(id: string): NsProcess[] {
    let ps = this.nsProcs.get(id);
    if (!ps) {
      ps = [{ pid: 1, ppid: 0, state: 'S', start: 100, name: 'app', command: 'app' }];
      this.nsProcs.set(id, ps);
    }
    return ps;
  }

  private namespaceOf(id: string) {
    let ns = this.namespaces.get(id);
    if (!ns) {
      ns = {
        netns: `net:[${this.netnsSeq++}]`,
        rules: [],
        qdiscs: new Map([['eth0', 'qdisc noqueue 0: dev eth0 root refcnt 2']]),
        links: [{ name: 'eth0', mac: '02:42:ac:11:00:02' }],
      };
      this.namespaces.set(id, ns);
    }
    return ns;
  }

  /** The container restarted: a new network namespace, empty; the old one's rules are gone with it. */
  renewNamespace(id: string): string {
    this.namespaces.delete(id);
    for (const [n, st] of this.stressors) if (st.containerId === id) this.stressors.delete(n);
    return this.namespaceOf(id).netns;
  }

  /** Faultline's chains, qdiscs and stressors still in place. */
  kernelLeftovers(): string[] {
    const out: string[] = [];
    for (const [id, ns] of this.namespaces) {
      for (const l of ns.rules) if (/^:FL-/.test(l)) out.push(`chain:${id}:${l.slice(1).split(' ')[0]}`);
      for (const [dev, q] of ns.qdiscs) if (!q.includes(' 0: ')) out.push(`qdisc:${id}:${dev}`);
    }
    for (const n of this.stressors.keys()) out.push(`stressor:${n}`);
    for (const n of this.resolvers.keys()) out.push(`resolver:${n}`);
    for (const [id, fs] of this.files) for (const f of fs.keys()) out.push(`file:${id}:${f}`);
    return out;
  }

  kernelPort(worker: string): KernelPort {
    const snapshot = (id: string): NetnsSnapshot => {
      const ns = this.namespaceOf(id);
      return {
        netns: ns.netns,
        rules: [...ns.rules],
        qdiscs: [...ns.qdiscs.values()],
        links: structuredClone(ns.links),
      };
    };
    const inNs = (
      op: string,
      id: string,
      expect: string | undefined,
      fn?: () => boolean,
      effect: Effect = 'apply',
    ): Promise<NetnsResult> =>
      this.call(worker, op, `netns:${id}`, (): { effect: Effect; value: NetnsResult } => {
        const c = this.containers.get(id);
        if (!c) return { effect: 'none', value: { state: 'none', why: 'the container no longer exists' } };
        if (c.state !== 'running' && c.state !== 'paused')
          return { effect: 'none', value: { state: 'none', why: `the container is ${c.state}` } };
        const ns = this.namespaceOf(id);
        if (expect && ns.netns !== expect) return { effect: 'none', value: { state: 'changed', netns: ns.netns } };
        const changed = fn ? fn() : false;
        return { effect: changed ? effect : 'none', value: { state: 'ok', snapshot: snapshot(id), changed } };
      });
    const quote = (a: string) => (/\s/.test(a) ? `"${a}"` : a);
    const remove = (id: string, owned: OwnedChains): boolean => {
      const ns = this.namespaceOf(id);
      const before = ns.rules.length;
      ns.rules = ns.rules.filter(
        (l) => !owned.chains.some((c) => l === `:${c} - [0:0]` || l.startsWith(`-A ${c} `) || l.endsWith(`-j ${c}`)),
      );
      return ns.rules.length !== before;
    };
    return {
      netns: (id, expect) => inNs('netns', id, expect),
      addChains: (id, expect, owned) =>
        inNs('addChains', id, expect, () => {
          remove(id, owned);
          const ns = this.namespaceOf(id);
          // One table per namespace in this model: the one the fault's chains live in.
          const body = ns.rules.filter((l) => !l.startsWith('*') && l !== 'COMMIT');
          const decl = body.filter((l) => l.startsWith(':'));
          const rules = body.filter((l) => !l.startsWith(':'));
          ns.rules = [
            `*${owned.table}`,
            ...(decl.length ? decl : [':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']),
            ...owned.chains.map((c) => `:${c} - [0:0]`),
            ...owned.hooks.map(([chain = '', ...rest]) => `-A ${chain} ${rest.map(quote).join(' ')}`),
            ...rules,
            ...owned.rules.map(([chain = '', ...rest]) => `-A ${chain} ${rest.map(quote).join(' ')}`),
            'COMMIT',
          ];
          return true;
        }),
      removeChains: (id, expect, owned) => inNs('removeChains', id, expect, () => remove(id, owned), 'revert'),
      addQdisc: (id, expect, q) =>
        inNs('addQdisc', id, expect, () => {
          this.namespaceOf(id).qdiscs.set(q.dev, `qdisc ${q.args[0]} ${q.handle} dev ${q.dev} root refcnt 2`);
          return true;
        }),
      removeQdisc: (id, expect, q) =>
        inNs(
          'removeQdisc',
          id,
          expect,
          () => {
            const ns = this.namespaceOf(id);
            if (!ns.qdiscs.get(q.dev)?.includes(` ${q.handle} `)) return false;
            ns.qdiscs.set(q.dev, `qdisc noqueue 0: dev ${q.dev} root refcnt 2`);
            return true;
          },
          'revert',
        ),
      addresses: (id) =>
        this.call(worker, 'addresses', `container:${id}`, () => {
          const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.name === id);
          return { effect: 'none', value: c ? (this.addresses.get(c.id) ?? []) : null };
        }),
      macOn: (id, network) =>
        this.call(worker, 'macOn', `container:${id}`, () => ({
          effect: 'none',
          value: this.containers.get(id)?.networks[network] ? this.namespaceOf(id).links[0]?.mac : undefined,
        })),
      limits: (id) =>
        this.call(worker, 'limits', `container:${id}`, () => ({
          effect: 'none',
          value: this.containers.has(id)
            ? { ...this.limits.get(id), hostCpus: 8, hostMemoryBytes: 16 * 2 ** 30 }
            : null,
        })),
      stressAvailable: async () => true,
      startStressor: (id, st) =>
        this.call(worker, 'startStressor', `stressor:${st.name}`, () => {
          if (this.stressors.has(st.name)) return { effect: 'none', value: undefined };
          this.stressors.set(st.name, {
            containerId: id,
            args: [...st.args],
            ...(st.cpus !== undefined ? { cpus: st.cpus } : {}),
          });
          return { effect: 'apply', value: undefined };
        }),
      stopStressor: (name) =>
        this.call(worker, 'stopStressor', `stressor:${name}`, () => ({
          effect: this.stressors.delete(name) ? 'revert' : 'none',
          value: undefined,
        })),
      nameservers: (id) =>
        this.call(worker, 'nameservers', `container:${id}`, () => ({
          effect: 'none',
          value:
            this.containers.get(id)?.state === 'running' ? [...(this.nameservers.get(id) ?? ['127.0.0.11'])] : null,
        })),
      startResolver: (id, r) =>
        this.call(
          worker,
          'startResolver',
          `resolver:${r.name}`,
          (): { effect: Effect; value: { ready: boolean; log: string } } => {
            if (this.resolvers.has(r.name)) return { effect: 'none', value: { ready: true, log: 'ready: (running)' } };
            if (this.containers.get(id)?.state !== 'running')
              return { effect: 'none', value: { ready: false, log: 'the container is not running' } };
            this.resolvers.set(r.name, { containerId: id, config: structuredClone(r.config) });
            return { effect: 'apply', value: { ready: true, log: 'ready: ' } };
          },
        ),
      stopResolver: (name) =>
        this.call(worker, 'stopResolver', `resolver:${name}`, () => ({
          effect: this.resolvers.delete(name) ? 'revert' : 'none',
          value: undefined,
        })),
      resolverRunning: (name) =>
        this.call(worker, 'resolverRunning', `resolver:${name}`, () => ({
          effect: 'none',
          value: this.resolvers.has(name),
        })),
      stressorRunning: (name) =>
        this.call(worker, 'stressorRunning', `stressor:${name}`, () => ({
          effect: 'none',
          value: this.stressors.has(name),
        })),
      nsProcesses: (id) =>
        this.call(worker, 'nsProcesses', `container:${id}`, () => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: null };
          return { effect: 'none', value: this.nsProcsOf(id).map((p) => ({ ...p })) };
        }),
      signalProcesses: (id, signal, refs) =>
        this.call(worker, 'signalProcesses', `processes:${id}`, (): { effect: Effect; value: number[] | null } => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: null };
          const sig = signal.toUpperCase().replace(/^SIG/, '');
          const ps = this.nsProcsOf(id);
          const hit = ps.filter((p) => refs.some((r) => r.pid === p.pid && r.start === p.start));
          for (const p of hit) {
            if (sig === 'STOP' || sig === '19') p.state = 'T';
            else if (sig === 'CONT' || sig === '18') p.state = 'S';
            else if (sig !== '0') ps.splice(ps.indexOf(p), 1);
          }
          if (!ps.some((p) => p.pid === 1)) {
            c.state = 'exited';
            this.nsProcs.delete(id);
          }
          return {
            effect: hit.length ? (sig === 'CONT' || sig === '18' ? 'revert' : 'apply') : 'none',
            value: hit.map((p) => p.pid),
          };
        }),
      dirUsage: (id, dir, file) =>
        this.call(worker, 'dirUsage', `container:${id}`, () => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: null };
          const link = (this.links.get(id) ?? []).find((l) => dir === l || dir.startsWith(`${l}/`));
          const size = file !== undefined ? this.files.get(id)?.get(`${dir}/${file}`) : undefined;
          return {
            effect: 'none',
            value: {
              freeBytes: this.freeBytes.get(id) ?? 10 * 2 ** 30,
              sizeBytes: 20 * 2 ** 30,
              ...(link ? { link } : {}),
              ...(size !== undefined ? { fileBytes: size } : {}),
            },
          };
        }),
      fillFile: (id, dir, file, bytes) =>
        this.call(worker, 'fillFile', `file:${id}:${dir}/${file}`, (): { effect: Effect; value: boolean } => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: false };
          const fs = this.files.get(id) ?? new Map<string, number>();
          this.files.set(id, fs);
          if (fs.get(`${dir}/${file}`) === bytes) return { effect: 'none', value: true };
          fs.set(`${dir}/${file}`, bytes);
          this.freeBytes.set(id, (this.freeBytes.get(id) ?? 10 * 2 ** 30) - bytes);
          return { effect: 'apply', value: true };
        }),
      removeFile: (id, dir, file) =>
        this.call(worker, 'removeFile', `file:${id}:${dir}/${file}`, (): { effect: Effect; value: boolean | null } => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: null };
          const bytes = this.files.get(id)?.get(`${dir}/${file}`);
          if (bytes === undefined) return { effect: 'none', value: false };
          this.files.get(id)?.delete(`${dir}/${file}`);
          this.freeBytes.set(id, (this.freeBytes.get(id) ?? 10 * 2 ** 30) + bytes);
          return { effect: 'revert', value: true };
        }),
      processes: (id) =>
        this.call(worker, 'processes', `container:${id}`, (): { effect: Effect; value: ProcessInfo[] | null } => {
          const c = this.containers.get(id);
          if (!c || c.state !== 'running') return { effect: 'none', value: null };
          const stress = [...this.stressors.values()].filter((x) => x.containerId === id);
          return {
            effect: 'none',
            value: [
              { pid: 1, command: 'app' },
              ...stress.flatMap((x, i) => [
                { pid: 100 + 2 * i, command: `/usr/bin/stress-ng ${x.args.join(' ')}` },
                { pid: 101 + 2 * i, command: `stress-ng-${(x.args[0] ?? '--cpu').slice(2)} [run]` },
              ]),
            ],
          };
        }),
    };
  }
}
