// Progressive exposure in the language: what validates, and every bad input refused with its file position
// and field (faults/common-schema.ts exposureField, experiments/rules.ts exposure-grows-a-traffic-fault-in-judged-steps).
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../experiments/parse.ts';
import { exposureOf } from '../../experiments/exposure.ts';
import { experimentJsonSchema } from '../../experiments/json-schema.ts';

const JUDGE = `judge:
  interval: 1s
  metrics:
    - name: errors
      events: { total: 'sum(t)', bad: 'sum(b)' }
      maxRate: 0.01`;

/** An experiment whose method is `fault` (one line), with a judge unless `judge` is given. */
const file = (fault: string, judge = JUDGE, more = '') => `title: exposure
hypothesis:
  statement: the front keeps answering
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
method:
  - ${fault}
${judge}
${more}`;

/** Each problem as FILE-less `line:col path: message`. */
function problems(text: string): string[] {
  const r = parseExperiment(text, 'x.yaml');
  return r.ok ? [] : r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

describe('exposure: the language', () => {
  it('steps as shares, one hold for all or a hold per step; the last step lasts the rest of the duration', () => {
    const r = parseExperiment(
      file(
        '{ kind: http.abort, proxy: backend-1, duration: 2m, exposure: { steps: [1%, 5%, { share: 25%, hold: 20s }, 100%], hold: 30s } }',
      ),
      'x.yaml',
    );
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect(exposureOf(r.experiment)).toEqual({
      faultIndex: 0,
      steps: [
        { share: 1, holdMs: 30_000 },
        { share: 5, holdMs: 30_000 },
        { share: 25, holdMs: 20_000 },
        { share: 100, holdMs: 40_000 },
      ],
    });
  });

  it('a step over 100% is refused at that step', () => {
    expect(
      problems(file('{ kind: http.abort, proxy: b, duration: 1m, exposure: { steps: [1%, 5%, 250%], hold: 10s } }')),
    ).toEqual(['6:77 method.0.exposure.steps.2: must be at most 100%: 250% is more traffic than there is']);
  });

  it('steps that do not increase are refused at the step that does not grow', () => {
    expect(
      problems(
        file(
          '{ kind: proxy.latency, proxy: b, latency: 1s, duration: 1m, exposure: { steps: [1%, 25%, 5%], hold: 10s } }',
        ),
      ),
    ).toEqual(['6:94 method.0.exposure.steps.2: 5% does not grow from the step before (25%): steps must increase']);
  });

  it('exposure on a container kind is refused: only a share of traffic can grow', () => {
    expect(
      problems(
        file(
          '{ kind: container.pause, duration: 1m, exposure: { steps: [1%, 5%], hold: 10s } }',
          JUDGE,
          'targets: { names: [api-1] }',
        ),
      ),
    ).toEqual([
      '6:54 method.0.exposure: container.pause acts on whole containers: exposure grows a share of traffic, so only proxy.* and http.* faults take it',
    ]);
  });

  it('a partition taking the route down has no share to grow', () => {
    expect(
      problems(
        file('{ kind: proxy.partition, proxy: b, mode: down, duration: 1m, exposure: { steps: [1%, 5%], hold: 10s } }'),
      ),
    ).toEqual(['6:76 method.0.exposure: mode down takes the whole route down: it has no share of traffic to grow']);
  });

  it('no judge, holds longer than the duration, a hold missing, a hold shorter than a judge tick, a share given twice', () => {
    expect(
      problems(
        file('{ kind: http.delay, proxy: b, delay: 1s, duration: 20s, exposure: { steps: [1%, 5%], hold: 30s } }', ''),
      ),
    ).toEqual([
      "6:56 method.0.duration: the steps hold 1m together, longer than the fault's duration 20s: make duration at least 1m (the last step lasts the rest of it)",
      "6:71 method.0.exposure: each step is judged by the judge's e-process before the next begins: add a judge section",
    ]);
    expect(
      problems(
        file(
          '{ kind: http.delay, proxy: b, delay: 1s, duration: 1m, exposure: { steps: [1%, { share: 5%, hold: 10s }] } }',
        ),
      ),
    ).toEqual(['6:80 method.0.exposure.steps.0: no hold: give exposure.hold, or a hold for this step']);
    expect(
      problems(
        file('{ kind: http.delay, proxy: b, delay: 1s, duration: 1m, exposure: { steps: [1%, 5%], hold: 500ms } }'),
      ),
    ).toEqual([
      '6:80 method.0.exposure.steps.0: held 500ms, shorter than one judge tick (judge.interval 1s): the step would never be judged',
      '6:84 method.0.exposure.steps.1: held 500ms, shorter than one judge tick (judge.interval 1s): the step would never be judged',
    ]);
    expect(
      problems(
        file('{ kind: http.abort, proxy: b, percentage: 50, duration: 1m, exposure: { steps: [1%, 5%], hold: 10s } }'),
      ),
    ).toEqual(['6:47 method.0.percentage: leave percentage out: each step of exposure gives the share of traffic']);
  });

  it('the blast radius applies to the largest step', () => {
    expect(
      problems(
        file(
          '{ kind: http.abort, proxy: b, duration: 1m, exposure: { steps: [1%, 5%, 25%, 100%], hold: 10s } }',
          JUDGE,
          'blastRadius: { maxTrafficPercent: 25 }',
        ),
      ),
    ).toEqual([
      '6:82 method.0.exposure.steps.3: http.abort touches 100% of the traffic on its routes at its largest step but blastRadius.maxTrafficPercent is 25',
    ]);
  });

  it('the JSON Schema describes exposure for editors', () => {
    expect(JSON.stringify(experimentJsonSchema())).toContain('Grow the fault in steps of traffic');
  });
});
