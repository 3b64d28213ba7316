// The problems validation finds in an experiment whose method is one fault (a YAML flow mapping), as
// `faultline validate` prints them (FILE:LINE:COL field: message). For the language tests of the fault kinds.
import { parseExperiment } from '../../../experiments/parse.ts';
import { formatProblem } from '../../../errors.ts';

/** problems(fault) for one file name: [] when the experiment is valid. */
export const faultProblems =
  (file: string) =>
  (fault: string): string[] => {
    const r = parseExperiment(
      `title: t
hypothesis: { statement: s, probes: [ { name: p, type: http, url: "http://127.0.0.1:1/" } ] }
targets: { names: [ api-1 ] }
method:
  - ${fault}
`,
      file,
    );
    return r.ok ? [] : r.problems.map(formatProblem);
  };
