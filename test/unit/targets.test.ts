// Target selection is pure: table-driven tests over a synthetic fleet, no Docker.
import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../faults/ports.ts';
import { checkBlastRadiusStatically, selectTargets } from '../../activities/targets.ts';
import { mulberry32 } from '../../judge/random.ts';
import { InvalidInput } from '../../errors.ts';
import type { BlastRadius, Targets } from '../../experiments/schema.ts';

function c(
  name: string,
  labels: Record<string, string> = {},
  state: ContainerInfo['state'] = 'running',
): ContainerInfo {
  return { id: `id-${name}`, name, labels, state, networks: {} };
}

// Deliberately unsorted: selection must not depend on the daemon's listing order.
const fleet: ContainerInfo[] = [
  c('api-3', { app: 'api', tier: 'web' }),
  c('api-1', { app: 'api', tier: 'web' }),
  c('api-5', { app: 'api', tier: 'web' }),
  c('api-2', { app: 'api', tier: 'web' }),
  c('api-4', { app: 'api', tier: 'web' }),
  c('api-6', { app: 'api', tier: 'web' }, 'exited'),
  c('api-7', { app: 'api', tier: 'web' }, 'paused'),
  c('api-front', { app: 'api', 'faultline.protected': 'true' }),
  c('db-1', { app: 'db' }),
  c('faultline-proxy', { app: 'api', 'faultline.component': 'proxy' }),
  c('faultline-worker', { 'faultline.component': 'worker' }),
  c('temporal', { 'faultline.component': 'temporal' }),
  c('api-unprotected', { app: 'api', 'faultline.protected': 'false' }),
];

type Blast = Pick<BlastRadius, 'maxTargets' | 'maxPercent'>;
const t = (x: Partial<Targets>): Targets => ({ mode: 'one', ...x }) as Targets;
const wide: Blast = { maxTargets: 100, maxPercent: 100 };
const names = (xs: { name: string }[]) => xs.map((x) => x.name);

describe('selectTargets: matching', () => {
  const cases: { name: string; targets: Partial<Targets>; matched: string[]; skipped?: string[] }[] = [
    { name: 'exact names', targets: { names: ['api-1', 'db-1', 'nope'] }, matched: ['api-1', 'db-1'] },
    {
      name: 'regex pattern',
      targets: { namePattern: '^api-[0-9]$' },
      matched: ['api-1', 'api-2', 'api-3', 'api-4', 'api-5'],
    },
    { name: 'regex is unanchored', targets: { namePattern: 'pi-[12]' }, matched: ['api-1', 'api-2'] },
    {
      name: 'all labels must match',
      targets: { labels: { app: 'api', tier: 'web' } },
      matched: ['api-1', 'api-2', 'api-3', 'api-4', 'api-5'],
    },
    {
      name: 'label subset, protected and component skipped',
      targets: { labels: { app: 'api' } },
      matched: ['api-1', 'api-2', 'api-3', 'api-4', 'api-5', 'api-unprotected'],
      skipped: ['api-front', 'faultline-proxy'],
    },
    {
      name: 'names and labels combine (AND)',
      targets: { names: ['api-1', 'db-1'], labels: { app: 'db' } },
      matched: ['db-1'],
    },
    {
      name: 'only running containers count (exited, paused out)',
      targets: { names: ['api-1', 'api-6', 'api-7'] },
      matched: ['api-1'],
    },
    { name: 'protected=false is not protected', targets: { names: ['api-unprotected'] }, matched: ['api-unprotected'] },
  ];
  for (const k of cases) {
    it(k.name, () => {
      const s = selectTargets(fleet, t({ ...k.targets, mode: 'all' }), wide, 1);
      expect(names(s.matched)).toEqual(k.matched);
      expect(names(s.selected)).toEqual(k.matched);
      expect(s.protectedSkipped).toEqual(k.skipped ?? []);
      for (const x of s.selected) expect(x.id).toBe(`id-${x.name}`);
    });
  }

  it('rejects an invalid regular expression as InvalidInput naming the field', () => {
    expect(() => selectTargets(fleet, t({ namePattern: '(' }), wide, 1)).toThrow(/targets\.namePattern/);
  });
});

describe('selectTargets: never protected or Faultline containers', () => {
  const untouchable = ['api-front', 'faultline-proxy', 'faultline-worker', 'temporal'];

  it.each(['one', 'all', 'count', 'percent'] as const)(
    'mode %s over names listing them plus api-1 selects only api-1',
    (mode) => {
      for (let seed = 0; seed < 50; seed++) {
        const s = selectTargets(
          fleet,
          t({ names: [...untouchable, 'api-1'], mode, count: 5, percent: 100 }),
          wide,
          seed,
        );
        expect(names(s.selected)).toEqual(['api-1']);
        expect(s.protectedSkipped.sort()).toEqual([...untouchable].sort());
      }
    },
  );

  it('a selector matching only untouchable containers is "no running container matches"', () => {
    expect(() => selectTargets(fleet, t({ names: untouchable, mode: 'all' }), wide, 1)).toThrow(
      /^targets: no running container matches names \[.*\] \(only protected or Faultline containers matched: api-front, faultline-proxy, faultline-worker, temporal\)$/,
    );
  });

  it('no selector at all still never reaches them', () => {
    for (let seed = 0; seed < 200; seed++) {
      const s = selectTargets(fleet, t({ mode: 'count', count: 3 }), wide, seed);
      for (const n of names(s.selected)) expect(untouchable).not.toContain(n);
    }
  });
});

describe('selectTargets: modes', () => {
  const api = { labels: { tier: 'web' } }; // api-1..5 running
  const cases: { mode: Partial<Targets>; n: number }[] = [
    { mode: { mode: 'one' }, n: 1 },
    { mode: { mode: 'all' }, n: 5 },
    { mode: { mode: 'count', count: 2 }, n: 2 },
    { mode: { mode: 'count', count: 9 }, n: 5 }, // never more than the fleet
    { mode: { mode: 'percent', percent: 40 }, n: 2 },
    { mode: { mode: 'percent', percent: 41 }, n: 3 }, // rounded up
    { mode: { mode: 'percent', percent: 1 }, n: 1 }, // at least one
    { mode: { mode: 'percent', percent: 60 }, n: 3 }, // 5*0.6 = 3.0000000000000004 in floats: still 3
    { mode: { mode: 'percent', percent: 100 }, n: 5 },
  ];
  for (const k of cases) {
    it(`${JSON.stringify(k.mode)} selects ${k.n} of 5`, () => {
      const s = selectTargets(fleet, t({ ...api, ...k.mode }), wide, 7);
      expect(s.matched).toHaveLength(5);
      expect(s.selected).toHaveLength(k.n);
      expect(new Set(names(s.selected)).size).toBe(k.n);
      for (const x of s.selected) expect(names(s.matched)).toContain(x.name);
    });
  }
});

describe('selectTargets: seeded determinism', () => {
  const api = t({ labels: { tier: 'web' }, mode: 'count', count: 2 });

  it('same seed, same choice, whatever the listing order', () => {
    const reversed = [...fleet].reverse();
    for (let seed = 0; seed < 100; seed++) {
      expect(selectTargets(fleet, api, wide, seed).selected).toEqual(selectTargets(reversed, api, wide, seed).selected);
    }
  });

  it('a fixed seed gives a fixed, recorded choice', () => {
    expect(names(selectTargets(fleet, api, wide, 42).selected)).toEqual(
      names(selectTargets(fleet, api, wide, 42).selected),
    );
    expect(names(selectTargets(fleet, t({ labels: { tier: 'web' } }), wide, 0).selected)).toHaveLength(1);
  });

  it('different seeds spread over the whole fleet, roughly evenly', () => {
    const hits = new Map<string, number>();
    for (let seed = 0; seed < 2000; seed++) {
      const [x] = selectTargets(fleet, t({ labels: { tier: 'web' } }), wide, seed).selected;
      hits.set(x!.name, (hits.get(x!.name) ?? 0) + 1);
    }
    expect([...hits.keys()].sort()).toEqual(['api-1', 'api-2', 'api-3', 'api-4', 'api-5']);
    for (const v of hits.values()) expect(v).toBeGreaterThan(300); // 400 expected each
  });

  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });
});

describe('selectTargets: blast radius', () => {
  const web = { labels: { tier: 'web' } }; // 5 running
  const cases: { targets: Partial<Targets>; blast: Blast; error: string }[] = [
    {
      targets: { ...web, mode: 'all' },
      blast: { maxTargets: 1, maxPercent: 100 },
      error: 'blastRadius.maxTargets: selection of 5 containers exceeds maxTargets 1',
    },
    {
      targets: { ...web, mode: 'count', count: 3 },
      blast: { maxTargets: 2, maxPercent: 100 },
      error: 'blastRadius.maxTargets: selection of 3 containers exceeds maxTargets 2',
    },
    {
      targets: { ...web, mode: 'percent', percent: 50 },
      blast: { maxTargets: 2, maxPercent: 100 },
      error: 'blastRadius.maxTargets: selection of 3 containers exceeds maxTargets 2',
    },
    {
      targets: { ...web, mode: 'all' },
      blast: { maxTargets: 10, maxPercent: 50 },
      error: 'blastRadius.maxPercent: selection of 5 of 5 matched containers (100%) exceeds maxPercent 50',
    },
    {
      targets: { ...web, mode: 'one' },
      blast: { maxTargets: 1, maxPercent: 10 },
      error: 'blastRadius.maxPercent: selection of 1 of 5 matched containers (20%) exceeds maxPercent 10',
    },
    // percent 50 of 5 rounds up to 3 = 60%: the rounding itself may break the limit, and that is refused.
    {
      targets: { ...web, mode: 'percent', percent: 50 },
      blast: { maxTargets: 5, maxPercent: 50 },
      error: 'blastRadius.maxPercent: selection of 3 of 5 matched containers (60%) exceeds maxPercent 50',
    },
    {
      targets: { names: ['nope'] },
      blast: { maxTargets: 1, maxPercent: 100 },
      error: 'targets: no running container matches names [nope]',
    },
    {
      targets: { namePattern: '^zzz', labels: { a: 'b' } },
      blast: { maxTargets: 1, maxPercent: 100 },
      error: 'targets: no running container matches namePattern /^zzz/ and labels {a=b}',
    },
  ];
  for (const k of cases) {
    it(k.error, () => {
      let caught: unknown;
      try {
        selectTargets(fleet, t(k.targets), k.blast, 3);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidInput);
      expect((caught as Error).message).toBe(k.error);
    });
  }

  it('exactly at the limits is allowed', () => {
    expect(
      selectTargets(fleet, t({ ...web, mode: 'count', count: 2 }), { maxTargets: 2, maxPercent: 40 }, 1).selected,
    ).toHaveLength(2);
    expect(
      selectTargets(fleet, t({ ...web, mode: 'all' }), { maxTargets: 5, maxPercent: 100 }, 1).selected,
    ).toHaveLength(5);
  });
});

describe('checkBlastRadiusStatically', () => {
  const cases: { targets: Partial<Targets>; blast: Blast; expect: string | null }[] = [
    { targets: { mode: 'one' }, blast: { maxTargets: 1, maxPercent: 100 }, expect: null },
    { targets: { mode: 'all' }, blast: { maxTargets: 1, maxPercent: 100 }, expect: null }, // depends on the fleet
    {
      targets: { mode: 'all' },
      blast: { maxTargets: 10, maxPercent: 50 },
      expect: 'blastRadius.maxPercent: mode all selects 100% of the matched fleet, above maxPercent 50',
    },
    {
      targets: { mode: 'all', names: ['a', 'b', 'c'] },
      blast: { maxTargets: 2, maxPercent: 100 },
      expect: 'blastRadius.maxTargets: mode all over 3 named containers exceeds maxTargets 2',
    },
    {
      targets: { mode: 'count', count: 3 },
      blast: { maxTargets: 1, maxPercent: 100 },
      expect: 'blastRadius.maxTargets: count 3 exceeds maxTargets 1',
    },
    { targets: { mode: 'count', count: 1 }, blast: { maxTargets: 1, maxPercent: 100 }, expect: null },
    {
      targets: { mode: 'percent', percent: 60 },
      blast: { maxTargets: 10, maxPercent: 50 },
      expect: 'blastRadius.maxPercent: percent 60 exceeds maxPercent 50',
    },
    { targets: { mode: 'percent', percent: 50 }, blast: { maxTargets: 10, maxPercent: 50 }, expect: null },
  ];
  for (const k of cases) {
    it(`${JSON.stringify(k.targets)} within ${JSON.stringify(k.blast)} -> ${k.expect ?? 'ok'}`, () => {
      expect(checkBlastRadiusStatically(t(k.targets), k.blast)).toBe(k.expect);
    });
  }
});
