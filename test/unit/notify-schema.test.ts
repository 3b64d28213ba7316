// The `notify:` section (experiments/notify.ts) in each kind of file that takes one: an experiment, a game
// day and the policy. Bad input is refused with the file, line, column and field: a URL that is not one, a
// secret written inline (a signing key, a credential header, a password or token in the URL), an event
// type nobody sends. What passes reaches the run, the game day and the admission policy.
import { describe, expect, it } from 'vitest';
import { formatProblem, type Problem } from '../../errors.ts';
import { parseExperiment } from '../../experiments/parse.ts';
import { parsePolicy } from '../../experiments/policy.ts';
import { parseGameDay } from '../../experiments/gameday.ts';

const EXPERIMENT = `title: t
hypothesis: { statement: s, probes: [{ name: p, type: http, url: "http://127.0.0.1:1/" }] }
method: [{ kind: proxy.latency, proxy: [r], latency: 100ms, duration: 1s }]
`;
/** Each kind with a notify section appended; `first` is the line of its first receiver's first field. */
const KINDS = {
  experiment: { parse: (t: string) => parseExperiment(EXPERIMENT + t, 'e.yaml'), first: 5 },
  'game day': {
    parse: (t: string) => parseGameDay(`kind: GameDay\ntitle: g\nowner: a\nsteps: [{ note: n }]\n${t}`, 'g.yaml'),
    first: 6,
  },
  policy: { parse: (t: string) => parsePolicy(`kind: Policy\n${t}`, 'p.yaml'), first: 3 },
};
const lines = (r: { ok: true } | { ok: false; problems: Problem[] }) => (r.ok ? [] : r.problems.map(formatProblem));
const INLINE = 'a secret written inline: name the environment variable that holds it instead, { env: NAME }';

describe.each(Object.entries(KINDS))('notify in a %s', (kind, { parse, first }) => {
  const file = { experiment: 'e.yaml', 'game day': 'g.yaml', policy: 'p.yaml' }[kind];

  it('a bad URL, an inline signing key, an inline Authorization header, an unknown event: each positioned', async () => {
    const r = await parse(`notify:
  - url: "ftp://hooks.example.com/x"
    events: [start, started]
  - url: "https://hooks.example.com/y"
    signingKey: "s3cr3t"
    headers: { X-Team: sre, Authorization: "Bearer abc" }
`);
    expect(lines(r)).toEqual([
      `${file}:${first}:10 notify.0.url: must be an http:// or https:// URL`,
      `${file}:${first + 1}:21 notify.0.events.1: must be one of "start", "inject", "abort", "verdict", "approval", "stuck", not "started"`,
      `${file}:${first + 3}:17 notify.1.signingKey: ${INLINE}`,
      `${file}:${first + 4}:44 notify.1.headers.Authorization: ${INLINE}`,
    ]);
  });

  it('a password or a token in the URL is a secret written inline too', async () => {
    const r = await parse(`notify:
  - url: "https://bot:hunter2@hooks.example.com/x"
  - url: "https://hooks.example.com/y?team=sre&access_token=abc"
`);
    expect(lines(r)).toEqual([
      `${file}:${first}:10 notify.0.url: ${INLINE} (a user or password in the URL)`,
      `${file}:${first + 1}:10 notify.1.url: ${INLINE} (the query parameter "access_token")`,
    ]);
  });

  it('secrets named by their variable pass, and reach what runs', async () => {
    const r = await parse(`notify:
  - name: chat
    url: { env: CHAT_WEBHOOK_URL }
    events: [abort, verdict]
  - url: "https://hooks.example.com/faultline"
    headers: { X-Team: sre, Authorization: { env: HOOK_TOKEN } }
    signingKey: { env: HOOK_KEY }
`);
    expect(lines(r)).toEqual([]);
    if (!r.ok) return;
    const v = ('experiment' in r ? r.experiment : r.value) as { notify?: unknown };
    const notify = v.notify;
    expect(notify).toEqual([
      { name: 'chat', url: { env: 'CHAT_WEBHOOK_URL' }, events: ['abort', 'verdict'] },
      {
        url: 'https://hooks.example.com/faultline',
        headers: { 'X-Team': 'sre', Authorization: { env: 'HOOK_TOKEN' } },
        signingKey: { env: 'HOOK_KEY' },
      },
    ]);
  });

  it('a variable name that is not one, and an empty list', async () => {
    expect(lines(await parse(`notify:\n  - url: { env: "1-not a name" }\n`))).toEqual([
      `${file}:${first}:17 notify.0.url.env: an environment variable name: letters, digits and _, not starting with a digit`,
    ]);
    expect(lines(await parse(`notify: []\n`))).toEqual([`${file}:${first - 1}:9 notify: needs at least 1 entry`]);
  });
});
