// container.kill refuses stopping signals (and unknown ones) at validation, with the field's position:
// a SIGSTOPped container still looks "running" to Docker, so that fault could be neither observed nor
// reverted. No Docker needed.
import { describe, expect, it } from 'vitest';
import { faultSchema } from '../../experiments/schema.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import { formatProblem } from '../../errors.ts';

const STOPPING = ['SIGSTOP', 'STOP', '19', 'SIGTSTP', 'TSTP', '20', 'SIGTTIN', 'TTIN', '21', 'SIGTTOU', 'TTOU', '22'];

const experiment = (signal: string) => `title: stop a backend
hypothesis:
  statement: the front answers
  probes: [ { name: front, type: http, url: "http://127.0.0.1:1/" } ]
targets: { names: [ api-1 ] }
method:
  - kind: container.kill
    signal: "${signal}"
    duration: 10s
`;

describe('container.kill signals', () => {
  for (const signal of STOPPING) {
    it(`refuses ${signal} at validation, naming file, line, field and the alternative`, () => {
      const r = faultSchema.safeParse({ kind: 'container.kill', duration: '1s', signal });
      expect(r.success).toBe(false);
      const p = parseExperiment(experiment(signal), 'stop.yaml');
      expect(p.ok).toBe(false);
      if (p.ok) return;
      expect(p.problems.map(formatProblem)).toEqual([
        expect.stringMatching(/^stop\.yaml:8:13 method\.0\.signal: a stopping signal .* use kind container\.pause/),
      ]);
    });
  }

  it('refuses a signal Linux does not have, and accepts real ones by name or number', () => {
    for (const bad of ['SIGFOO', 'BOGUS', '0', '65'])
      expect(faultSchema.safeParse({ kind: 'container.kill', duration: '1s', signal: bad }).success, bad).toBe(false);
    for (const good of ['SIGKILL', 'KILL', '9', 'SIGTERM', '15', 'SIGHUP', 'SIGUSR1', 'SIGRTMIN', 'SIGCONT'])
      expect(faultSchema.safeParse({ kind: 'container.kill', duration: '1s', signal: good }).success, good).toBe(true);
  });
});
