// Webhook deliveries: one HTTP POST per attempt with undici, bounded by the attempt's time and cancelled
// with it. The only code that talks to a notification receiver (activities/notify.ts builds what it sends).
import { request } from 'undici';

export interface WebhookAnswer {
  status: number;
  /** The start of the receiver's answer, for the error a refusal records. */
  text: string;
}

export type PostWebhook = (
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
) => Promise<WebhookAnswer>;

export const postWebhook: PostWebhook = async (url, headers, body, opts) => {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const r = await request(url, {
    method: 'POST',
    headers,
    body,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
  });
  // What a receiver answers is shown, never its control characters.
  const text = (await r.body.text())
    .slice(0, 300)
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
  return { status: r.statusCode, text };
};
