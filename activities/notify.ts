// The notification activity: delivers one CloudEvent (built by the workflow, definitions/notify.ts) to one
// receiver. Secrets are read here, from the worker's environment, at delivery: they are never in the file,
// the workflow's input or its history. A receiver that answers 2xx took it; 408, 429, 5xx, a timeout or a
// connection error are retried (the workflow bounds the whole delivery); any other answer, or a variable
// that is not set, fails it for good. The HTTP call is the adapter's (./adapters/webhook.ts).
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { CLOUDEVENTS_JSON, receiverName, type CloudEvent } from '../definitions/notify.ts';
import type { EnvRef, Receiver } from '../experiments/notify.ts';
import { postWebhook, type PostWebhook } from './adapters/webhook.ts';

/** An attempt's HTTP time when no activity bounds it (called directly). */
const DEFAULT_ATTEMPT_MS = 5_000;

export interface NotifyDeps {
  post?: PostWebhook;
  env?: Record<string, string | undefined>;
}

/**
 * Standard Webhooks' signature (standardwebhooks.com): HMAC-SHA256 over `id.timestamp.body`, base64, as
 * `v1,<signature>`; a key written `whsec_<base64>` is those bytes, any other its UTF-8 text.
 */
export function signDelivery(key: string, id: string, timestamp: number, body: string): string {
  const bytes = key.startsWith('whsec_') ? Buffer.from(key.slice(6), 'base64') : Buffer.from(key, 'utf8');
  return `v1,${createHmac('sha256', bytes).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function attempt(): { timeoutMs: number; signal?: AbortSignal } {
  try {
    const ctx = Context.current();
    // Leave the attempt a moment to report its own outcome before its start-to-close ends it.
    const ms = ctx.info.startToCloseTimeoutMs;
    return { timeoutMs: ms ? Math.max(500, ms - 500) : DEFAULT_ATTEMPT_MS, signal: ctx.cancellationSignal };
  } catch {
    return { timeoutMs: DEFAULT_ATTEMPT_MS };
  }
}

export function createNotifyActivities(deps: NotifyDeps = {}) {
  const post = deps.post ?? postWebhook;
  return {
    async deliverNotification(r: Receiver, event: CloudEvent): Promise<{ status: number }> {
      const env = deps.env ?? process.env;
      const who = receiverName(r);
      const secret = (ref: EnvRef, what: string): string => {
        const v = env[ref.env];
        if (!v)
          throw ApplicationFailure.nonRetryable(
            `receiver ${who}: ${what} names the environment variable ${ref.env}, which is not set in this worker`,
            'NotifyConfig',
          );
        return v;
      };
      const url = typeof r.url === 'string' ? r.url : secret(r.url, 'url');
      if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
        throw ApplicationFailure.nonRetryable(
          `receiver ${who}: the URL in ${typeof r.url === 'string' ? 'the file' : `$${r.url.env}`} is not an http(s) URL`,
          'NotifyConfig',
        );
      const headers: Record<string, string> = { 'user-agent': 'faultline' };
      for (const [h, v] of Object.entries(r.headers ?? {}))
        headers[h.toLowerCase()] = typeof v === 'string' ? v : secret(v, `header ${h}`);
      headers['content-type'] = CLOUDEVENTS_JSON;
      const body = JSON.stringify(event);
      if (r.signingKey && typeof r.signingKey !== 'string') {
        const ts = Math.floor(Date.now() / 1000);
        headers['webhook-id'] = event.id;
        headers['webhook-timestamp'] = String(ts);
        headers['webhook-signature'] = signDelivery(secret(r.signingKey, 'signingKey'), event.id, ts, body);
      }
      const a = await post(url, headers, body, attempt());
      if (a.status >= 200 && a.status < 300) return { status: a.status };
      const message = `receiver ${who} answered ${a.status} to ${event.type} ${event.id}${a.text ? `: ${a.text}` : ''}`;
      if (a.status === 408 || a.status === 429 || a.status >= 500)
        throw ApplicationFailure.retryable(message, 'NotifyUnavailable');
      throw ApplicationFailure.nonRetryable(message, 'NotifyRefused');
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
