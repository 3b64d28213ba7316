// The `notify:` section (an experiment, a game day or the policy): webhooks that receive CloudEvents on a
// run's start, each inject, an abort, the verdict, a game day's gate waiting for approval and a stuck revert.
// Secrets never stand in the file: a header or the URL may name an environment variable ({ env: NAME }) the
// worker reads at delivery, and the HMAC signing key can only be named that way. Pure: no I/O.
import { z } from 'zod';

/** What a receiver may subscribe to (default: all). */
export const NOTIFY_EVENTS = ['start', 'inject', 'abort', 'verdict', 'approval', 'stuck'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** Receivers per section: a run sends each event to each, so this bounds a run's deliveries. */
export const MAX_RECEIVERS = 10;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A header whose value is a credential: it must come from the environment. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|auth|token|secret|key|passw|signature|credential/i;
/** A URL query parameter that carries a credential. */
const SECRET_PARAM = /token|secret|key|passw|sig|auth|credential|code/i;
const INLINE = 'a secret written inline: name the environment variable that holds it instead, { env: NAME }';

export const envRefSchema = z
  .strictObject({
    env: z.string().regex(ENV_NAME, {
      message: 'an environment variable name: letters, digits and _, not starting with a digit',
    }),
  })
  .describe('The value of this environment variable in the worker, read at delivery (never stored in history).');
export type EnvRef = z.infer<typeof envRefSchema>;

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, { message: 'not an HTTP header name' });

export const receiverSchema = z
  .strictObject({
    name: z.string().min(1).max(100).optional().describe('What the journal and the logs call it; default the host.'),
    url: z
      .union([z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }), envRefSchema])
      .describe('The webhook: an http(s) URL, or { env: NAME } when the URL itself is a secret (a chat webhook).'),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .optional()
      .describe(`Which events it receives (default all): ${NOTIFY_EVENTS.join(', ')}.`),
    headers: z
      .record(headerName, z.union([z.string().max(4096), envRefSchema]))
      .optional()
      .describe('Extra request headers: a plain value, or { env: NAME } (required for credentials).'),
    signingKey: z
      .union([z.string(), envRefSchema])
      .optional()
      .describe(
        'HMAC-SHA256 signing key, as { env: NAME }: each delivery carries webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks).',
      ),
  })
  .superRefine((r, ctx) => {
    const inline = (path: (string | number)[], message = INLINE) => ctx.addIssue({ code: 'custom', path, message });
    if (typeof r.signingKey === 'string') inline(['signingKey']);
    for (const [h, v] of Object.entries(r.headers ?? {}))
      if (typeof v === 'string' && SECRET_HEADER.test(h)) inline(['headers', h]);
    if (typeof r.url === 'string' && URL.canParse(r.url)) {
      const u = new URL(r.url);
      if (u.username || u.password) inline(['url'], `${INLINE} (a user or password in the URL)`);
      const param = [...u.searchParams.keys()].find((k) => SECRET_PARAM.test(k));
      if (param) inline(['url'], `${INLINE} (the query parameter "${param}")`);
    }
  })
  .describe('A webhook that receives CloudEvents 1.0 (structured mode, application/cloudevents+json).');
export type Receiver = z.infer<typeof receiverSchema>;

export const notifySchema = z
  .array(receiverSchema)
  .min(1)
  .max(MAX_RECEIVERS)
  .describe(
    'Webhooks told of start, inject, abort, verdict, approval (a game day gate) and stuck; delivered with retries, never delaying a revert.',
  );

/** What the journal keeps of a run's (or a game day's) notifications. */
export interface NotifyRecord {
  /** Deliveries a receiver accepted (2xx). */
  delivered: number;
  /** Deliveries given up on (refused, or still failing at the bound): the receiver, the event, the last error. */
  failed: { receiver: string; id: string; type: string; error: string }[];
}
