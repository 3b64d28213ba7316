// The pure parts of admission control: blackout windows in a time zone, the decision for a request,
// and the policy file's positioned messages. Needs neither Docker nor Temporal.
import { describe, expect, it } from 'vitest';
import { activeWindow, localTime, windowActive, type BlackoutWindow } from '../../experiments/blackout.ts';
import {
  admit,
  dropStale,
  enqueue,
  evaluate,
  initialState,
  refuse,
  release,
  serveQueue,
  controlTargetsOf,
  targetsOf,
  type AdmitRequest,
  type Policy,
} from '../../experiments/admission.ts';
import { parsePolicy, parsePolicyFile } from '../../experiments/policy.ts';
import { formatProblem } from '../../errors.ts';
import { runCli } from './cli-process.ts';

const at = (iso: string) => Date.parse(iso);

describe('blackout windows', () => {
  const business: BlackoutWindow = {
    name: 'business hours',
    timeZone: 'Europe/Paris',
    weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    hours: { from: '09:00', to: '18:00' },
  };

  it('reads local weekday, date and time in the window time zone, across daylight saving', () => {
    expect(localTime(at('2026-07-01T07:30:00Z'), 'Europe/Paris')).toEqual({
      weekday: 'wed',
      date: '2026-07-01',
      minutes: 9 * 60 + 30,
    });
    expect(localTime(at('2026-01-07T07:30:00Z'), 'Europe/Paris')).toEqual({
      weekday: 'wed',
      date: '2026-01-07',
      minutes: 8 * 60 + 30,
    });
    expect(localTime(at('2026-01-01T02:00:00Z'), 'America/New_York').date).toBe('2025-12-31');
  });

  it('weekday hours: summer 07:30Z is 09:30 in Paris (inside), winter 07:30Z is 08:30 (outside)', () => {
    expect(windowActive(business, at('2026-07-01T07:30:00Z'))).toBe(true);
    expect(windowActive(business, at('2026-01-07T07:30:00Z'))).toBe(false);
    expect(windowActive(business, at('2026-07-01T16:00:00Z'))).toBe(false); // 18:00 local: the end is exclusive
    expect(windowActive(business, at('2026-07-04T10:00:00Z'))).toBe(false); // a Saturday
  });

  it('hours that wrap past midnight, dates, and freezes', () => {
    const nights: BlackoutWindow = { name: 'nights', timeZone: 'UTC', hours: { from: '22:00', to: '06:00' } };
    expect(windowActive(nights, at('2026-03-03T23:00:00Z'))).toBe(true);
    expect(windowActive(nights, at('2026-03-03T05:59:00Z'))).toBe(true);
    expect(windowActive(nights, at('2026-03-03T06:00:00Z'))).toBe(false);
    const xmas: BlackoutWindow = { name: 'xmas', timeZone: 'Asia/Tokyo', dates: ['2026-12-25'] };
    expect(windowActive(xmas, at('2026-12-24T15:30:00Z'))).toBe(true); // already the 25th in Tokyo
    expect(windowActive(xmas, at('2026-12-24T14:30:00Z'))).toBe(false);
    const freeze: BlackoutWindow = { name: 'freeze', until: '2026-12-01T00:00:00Z' };
    expect(windowActive(freeze, at('2026-11-30T23:59:59Z'))).toBe(true);
    expect(windowActive(freeze, at('2026-12-01T00:00:00Z'))).toBe(false);
    expect(activeWindow([nights, freeze], at('2026-11-30T12:00:00Z'))?.name).toBe('freeze');
  });
});

describe('admission decisions', () => {
  const req = (workflowId: string, targets: string[], environment?: string): AdmitRequest => ({
    workflowId,
    runId: `${workflowId}-run`,
    title: workflowId,
    environment,
    targets: targets.map((t) => ({ key: `container:${t}`, label: t })),
  });
  const now = at('2026-06-01T12:00:00Z');

  it('targets are exclusive: the second run is refused (retryable) naming the holder; free again after release', () => {
    const s = initialState();
    expect(evaluate(s, req('a', ['c1']), now)).toEqual({ admitted: true });
    admit(s, req('a', ['c1']), '2026-06-01T12:00:00Z');
    const d = evaluate(s, req('b', ['c1', 'c2']), now);
    expect(d).toMatchObject({ admitted: false, retryable: true });
    if (!d.admitted) expect(d.reason).toBe('target c1 is held by a ("a", since 2026-06-01T12:00:00Z)');
    expect(evaluate(s, req('c', ['c2']), now).admitted).toBe(true);
    expect(evaluate(s, req('a', ['c1']), now).admitted).toBe(true); // the holder asking again: idempotent
    release(s, 'a', 'a-run');
    expect(evaluate(s, req('b', ['c1']), now).admitted).toBe(true);
  });

  it('limits globally and per environment; approvals; the lever and blackouts refuse for good', () => {
    const policy: Policy = {
      maxConcurrent: 2,
      exclusiveTargets: true,
      environments: { prod: { maxConcurrent: 1, requireApproval: true } },
      blackouts: [{ name: 'lunch', timeZone: 'UTC', hours: { from: '12:00', to: '13:00' } }],
    };
    const s = initialState(policy);
    const d0 = evaluate(s, req('a', ['c1']), now);
    expect(d0).toMatchObject({ admitted: false, retryable: false, window: 'lunch' });
    if (!d0.admitted) expect(d0.reason).toBe('blackout window "lunch" (12:00-13:00 UTC) is in effect');
    const later = at('2026-06-01T14:00:00Z');
    const p = evaluate(s, req('p1', ['c9'], 'prod'), later);
    expect(p).toMatchObject({ admitted: false, retryable: true });
    if (!p.admitted) expect(p.reason).toContain('needs an approval');
    s.approvals.push({ workflowId: 'p1', who: 'lead', at: '' }, { workflowId: 'p2', who: 'lead', at: '' });
    admit(s, req('p1', ['c9'], 'prod'), '');
    const p2 = evaluate(s, req('p2', ['c8'], 'prod'), later);
    expect(p2).toMatchObject({ admitted: false, retryable: true });
    if (!p2.admitted) expect(p2.reason).toContain('allows 1 there');
    admit(s, req('x', ['c7']), '');
    const full = evaluate(s, req('y', ['c6']), later);
    expect(full.admitted).toBe(false);
    if (!full.admitted) expect(full.reason).toContain('allows 2 at once');
    s.lever = { reason: 'incident', who: 'oncall', at: 'T' };
    expect(evaluate(s, req('z', []), later)).toMatchObject({ admitted: false, retryable: false });
  });

  it('targets of a plan: selected containers by ID, proxy routes by name, once each', () => {
    const t = targetsOf(
      [{ faultIndex: 0, target: { id: 'abc', name: 'api-1' } }, { faultIndex: 1 }],
      [{ kind: 'container.pause' }, { kind: 'proxy.latency', proxy: ['r1', 'r2'] }],
    );
    expect(t.map((x) => x.key)).toEqual(['container:abc', 'proxy:r1', 'proxy:r2']);
  });

  // Issue 15 item 7: the control group is held like the experiment's targets, read-only.
  describe('the control group', () => {
    /** A run faulting `faulted` with `control` as its control group. */
    const withControl = (workflowId: string, faulted: string[], control: string[]): AdmitRequest => {
      const own = faulted.map((t) => ({ key: `container:${t}`, label: t }));
      return {
        ...req(workflowId, []),
        targets: [
          ...own,
          ...controlTargetsOf(
            control.map((c) => ({ id: c, name: `${c}-name` })),
            own,
          ),
        ],
      };
    };
    const since = '2026-06-01T12:00:00Z';

    it('a run that would fault another run’s control group is refused (retryable), naming the holder and that it is its control group', () => {
      const s = initialState();
      admit(s, withControl('a', ['api-1'], ['api-2', 'api-3']), since);
      const d = evaluate(s, req('b', ['api-2']), now);
      expect(d).toMatchObject({ admitted: false, retryable: true });
      if (!d.admitted)
        expect(d.reason).toBe(`target api-2-name (its control group) is held by a ("a", since ${since})`);
      release(s, 'a', 'a-run');
      expect(evaluate(s, req('b', ['api-2']), now)).toEqual({ admitted: true });
    });

    it('a run whose control group another run faults waits for it, naming it as its control group', () => {
      const s = initialState();
      admit(s, req('a', ['api-2']), since);
      const d = evaluate(s, withControl('b', ['api-1'], ['api-2']), now);
      expect(d).toMatchObject({ admitted: false, retryable: true });
      if (!d.admitted) expect(d.reason).toBe(`target api-2 (your control group) is held by a ("a", since ${since})`);
    });

    it('control groups share: two runs with the same control replicas and different faulted ones are both admitted', () => {
      const s = initialState();
      admit(s, withControl('a', ['api-1'], ['api-3']), since);
      const b = withControl('b', ['api-2'], ['api-3']);
      expect(evaluate(s, b, now)).toEqual({ admitted: true });
      admit(s, b, since);
      // ...but neither may fault the replica both compare against.
      expect(evaluate(s, req('c', ['api-3']), now).admitted).toBe(false);
      // and a waiter for it is served only once both control groups left.
      enqueue(s, { ...req('c', ['api-3']), waitUntil: '2026-06-01T13:00:00Z' }, since);
      release(s, 'a', 'a-run');
      expect(serveQueue(s, since)).toEqual([]);
      release(s, 'b', 'b-run');
      expect(serveQueue(s, since).map((w) => w.workflowId)).toEqual(['c']);
    });

    it('the control targets are read-only container keys like the faulted ones, without the run’s own faulted replicas', () => {
      const own = targetsOf([{ faultIndex: 0, target: { id: 'i1', name: 'api-1', host: 'h1' } }], [{ kind: 'x' }]);
      const ctl = controlTargetsOf(
        [
          { id: 'i1', name: 'api-1', host: 'h1' },
          { id: 'i2', name: 'api-2', host: 'h1' },
        ],
        own,
      );
      expect(ctl).toEqual([{ key: 'container:h1/i2', label: 'h1/api-2', readOnly: true }]);
    });
  });
});

describe('the queue of waiting runs', () => {
  const req = (workflowId: string, targets: string[], environment?: string): AdmitRequest => ({
    workflowId,
    runId: `${workflowId}-run`,
    title: workflowId,
    environment,
    targets: targets.map((t) => ({ key: `container:${t}`, label: t })),
    waitUntil: '2026-06-02T12:00:00Z',
  });
  const now = at('2026-06-01T12:00:00Z');
  const ids = (xs: { workflowId: string }[] | undefined) => (xs ?? []).map((x) => x.workflowId);

  it('a freed target goes to the oldest waiter for it, reserved (no newcomer can take it), and the waiter is told', () => {
    const s = initialState();
    admit(s, req('holder', ['c1']), 'T0');
    enqueue(s, req('first', ['c1']), 'T1');
    enqueue(s, req('second', ['c1']), 'T2');
    enqueue(s, req('elsewhere', ['c2']), 'T3'); // would go at once: the queue serves it too
    expect(ids(serveQueue(s, 'T4'))).toEqual(['elsewhere']);
    expect(ids(s.waiters)).toEqual(['first', 'second']);
    release(s, 'holder');
    expect(ids(serveQueue(s, 'T5'))).toEqual(['first']);
    expect(s.holds.find((h) => h.workflowId === 'first')?.reserved).toBe('T5');
    expect(evaluate(s, req('newcomer', ['c1']), now)).toMatchObject({ admitted: false, retryable: true });
    expect(serveQueue(s, 'T6')).toEqual([]); // nothing changed: nothing told twice
    // The waiter asks again: its reservation is confirmed.
    expect(evaluate(s, req('first', ['c1']), now)).toEqual({ admitted: true });
    admit(s, req('first', ['c1']), 'T7');
    expect(s.holds.find((h) => h.workflowId === 'first')?.reserved).toBeUndefined();
    expect(s.holds.find((h) => h.workflowId === 'first')).not.toHaveProperty('waitUntil');
  });

  it('a reservation is checked against the lever and blackouts when the waiter asks again, and given back if refused', () => {
    const s = initialState({
      exclusiveTargets: true,
      environments: {},
      blackouts: [{ name: 'lunch', timeZone: 'UTC', hours: { from: '12:00', to: '13:00' } }],
    });
    enqueue(s, req('w', ['c1']), 'T0');
    expect(ids(serveQueue(s, 'T1'))).toEqual(['w']); // the queue reads no blackout
    const d = evaluate(s, req('w', ['c1']), now); // 12:00 UTC: lunch
    expect(d).toMatchObject({ admitted: false, retryable: false, window: 'lunch' });
    expect(refuse(s, req('w', ['c1']))).toBe(true);
    expect([s.holds, s.waiters]).toEqual([[], []]);
    enqueue(s, req('v', ['c1']), 'T2');
    serveQueue(s, 'T3');
    s.lever = { reason: 'incident', at: 'T4' };
    expect(evaluate(s, req('v', ['c1']), at('2026-06-01T15:00:00Z'))).toMatchObject({ retryable: false });
  });

  it('the lever takes every waiter out of the queue and tells each; approvals and policy changes serve it', () => {
    const s = initialState({
      exclusiveTargets: true,
      environments: { prod: { requireApproval: true } },
      blackouts: [],
    });
    enqueue(s, req('p', ['c1'], 'prod'), 'T0');
    enqueue(s, req('q', ['c2'], 'prod'), 'T0');
    expect(serveQueue(s, 'T1')).toEqual([]);
    s.approvals.push({ workflowId: 'p', who: 'lead', at: 'T2' });
    expect(ids(serveQueue(s, 'T2'))).toEqual(['p']);
    s.lever = { reason: 'incident', at: 'T3' };
    expect(ids(serveQueue(s, 'T3'))).toEqual(['q']);
    expect(s.waiters).toEqual([]);
  });

  it('release takes a run out of the queue too (and its approval); stale waiters go after their wait plus a grace', () => {
    const s = initialState();
    admit(s, req('holder', ['c1']), 'T0');
    enqueue(s, req('gone', ['c1']), 'T1');
    s.approvals.push({ workflowId: 'gone', who: 'lead', at: 'T1' });
    release(s, 'gone', 'gone-run');
    expect([s.waiters, s.approvals]).toEqual([[], []]);
    enqueue(s, req('late', ['c1']), 'T2'); // waits until 2026-06-02T12:00Z
    expect(dropStale(s, at('2026-06-02T12:05:00Z'), 10 * 60_000)).toEqual([]);
    expect(ids(dropStale(s, at('2026-06-02T12:11:00Z'), 10 * 60_000))).toEqual(['late']);
    expect(s.waiters).toEqual([]);
  });

  it('asking again keeps the place in the queue', () => {
    const s = initialState();
    admit(s, req('holder', ['c1']), 'T0');
    enqueue(s, req('a', ['c1']), 'T1');
    enqueue(s, req('b', ['c1']), 'T2');
    enqueue(s, { ...req('a', ['c1']), waitUntil: '2026-06-03T00:00:00Z' }, 'T3');
    expect(s.waiters?.map((w) => [w.workflowId, w.since, w.waitUntil])).toEqual([
      ['a', 'T1', '2026-06-03T00:00:00Z'],
      ['b', 'T2', '2026-06-02T12:00:00Z'],
    ]);
  });
});

describe('policy files', () => {
  it('a valid policy parses', async () => {
    const r = await parsePolicy(
      'kind: Policy\nmaxConcurrent: 3\nenvironments: { prod: { maxConcurrent: 1, requireApproval: true } }\nblackouts:\n  - { name: w, timeZone: Europe/Paris, weekdays: [sat, sun] }\n',
      'p.yaml',
    );
    expect(r.ok).toBe(true);
  });

  it.each([
    [
      'policy-env-exceeds-global.yaml',
      ['5:32 environments.production.maxConcurrent: 5 contradicts the global maxConcurrent 2'],
    ],
    [
      'policy-contradictions.yaml',
      [
        '11:5 blackouts.3: a window needs weekdays',
        '5:12 blackouts.0.hours: from and to are both 22:00: an empty window',
        '8:12 blackouts.1.until: 2026-12-01T00:00:00Z is not after from 2026-12-20T00:00:00Z',
        '9:11 blackouts.2.name: another window is already named "nights"',
      ],
    ],
    ['policy-unknown-time-zone.yaml', ['4:15 blackouts.0.timeZone: unknown time zone']],
  ])('%s: positioned messages', async (name, expected) => {
    const file = `test/fixtures/invalid-kinds/${name}`;
    const r = await parsePolicyFile(file);
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : r.problems.map(formatProblem);
    expect(lines).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(lines[i]).toContain(`${file}:${e}`));
  });
});

describe('policy files at the CLI', () => {
  it('validate and policy apply: exit 2 with positioned lines, before anything connects or starts', async () => {
    const file = 'test/fixtures/invalid-kinds/policy-unknown-time-zone.yaml';
    for (const args of [
      ['validate', file],
      ['policy', 'apply', file],
    ]) {
      const r = await runCli(args, { TEMPORAL_ADDRESS: '127.0.0.1:1' }); // nothing listens there
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file}:4:15 blackouts.0.timeZone: unknown time zone`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});
