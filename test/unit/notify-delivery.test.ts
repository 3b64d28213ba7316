// The deliverNotification activity (activities/notify.ts) against a real HTTP receiver on loopback, called
// directly: the CloudEvent in structured mode, secrets read from the environment it is given (never the
// event or the file), the Standard Webhooks signature, and which answers are retried and which are final.
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createNotifyActivities, signDelivery } from '../../activities/notify.ts';
import { cloudEvent } from '../../definitions/notify.ts';
import type { Receiver } from '../../experiments/notify.ts';

let status = 202;
const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
let server: http.Server;
let url = '';
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(status).end(status >= 400 ? 'no\u0007thanks' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const event = cloudEvent({
  source: 'experiment',
  workflowId: 'exp 1',
  runId: 'run-a',
  seq: 3,
  event: 'abort',
  subject: 'a title',
  time: '2026-12-08T01:00:00.000Z',
  data: { verdict: 'aborted' },
});
const env = { HOOK_URL: '', HOOK_TOKEN: 'Bearer t0k3n', HOOK_KEY: 'plain key' };

/** The failure an attempt ends with, or undefined when the receiver took it. */
async function failure(r: Receiver, e: Record<string, string> = env): Promise<ApplicationFailure | undefined> {
  try {
    await createNotifyActivities({ env: e }).deliverNotification(r, event);
    return undefined;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
}

describe('deliverNotification', () => {
  it('posts the CloudEvent as application/cloudevents+json, with the secrets of its environment, signed', async () => {
    got.length = 0;
    status = 202;
    const r: Receiver = {
      url: { env: 'HOOK_URL' },
      headers: { 'X-Team': 'sre', Authorization: { env: 'HOOK_TOKEN' } },
      signingKey: { env: 'HOOK_KEY' },
    };
    expect(await failure(r, { ...env, HOOK_URL: url })).toBeUndefined();
    const [d] = got;
    expect(JSON.parse(d?.body ?? '')).toEqual({
      specversion: '1.0',
      id: 'run-a.3',
      source: '/faultline/experiment/exp%201',
      type: 'dev.faultline.experiment.aborted',
      time: '2026-12-08T01:00:00.000Z',
      subject: 'a title',
      datacontenttype: 'application/json',
      faultlineevent: 'abort',
      data: { verdict: 'aborted' },
    });
    expect(d?.headers).toMatchObject({
      'content-type': 'application/cloudevents+json; charset=utf-8',
      authorization: 'Bearer t0k3n',
      'x-team': 'sre',
      'webhook-id': 'run-a.3',
    });
    const ts = d?.headers['webhook-timestamp'];
    const mac = createHmac('sha256', 'plain key').update(`run-a.3.${ts}.${d?.body}`).digest('base64');
    expect(d?.headers['webhook-signature']).toBe(`v1,${mac}`);
    // A whsec_ key is base64 bytes, as Standard Webhooks writes them.
    expect(signDelivery('whsec_' + Buffer.from('k').toString('base64'), 'i', 1, 'b')).toBe(
      `v1,${createHmac('sha256', 'k').update('i.1.b').digest('base64')}`,
    );
  });

  it('a variable that is not set: final, naming it, nothing sent', async () => {
    got.length = 0;
    const f = await failure({ url, headers: { Authorization: { env: 'NOT_SET_HERE' } } });
    expect(f?.nonRetryable).toBe(true);
    expect(f?.message).toBe(
      `receiver 127.0.0.1:${new URL(url).port}: header Authorization names the environment variable NOT_SET_HERE, which is not set in this worker`,
    );
    expect(got).toEqual([]);
  });

  it('408, 429 and 5xx are retried; any other refusal is final; its answer shown without control characters', async () => {
    for (const [code, retried] of [
      [503, true],
      [429, true],
      [408, true],
      [404, false],
      [401, false],
    ] as const) {
      status = code;
      const f = await failure({ name: 'hook', url });
      expect([f?.nonRetryable, f?.message]).toEqual([
        !retried,
        `receiver hook answered ${code} to dev.faultline.experiment.aborted run-a.3: no thanks`,
      ]);
    }
  });
});
