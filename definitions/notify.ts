// Notifications' contract, defined once: the CloudEvents 1.0 envelope a run or a game day sends (structured
// mode: every attribute and the data in one JSON body), its event types, and which receiver takes what.
// Built in the workflow (deterministic: the id is the run ID and a sequence number, the time is the
// workflow's), delivered by the deliverNotification activity (activities/notify.ts), so a retried delivery
// carries the same id and a receiver can drop the duplicate.
import type { NotifyEvent, Receiver } from '../experiments/notify.ts';
export type { NotifyRecord } from '../experiments/notify.ts';

/** The media type of a structured-mode CloudEvent in JSON (CloudEvents JSON format, section 3). */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8';

/** What sends events: an experiment run or a game day. */
export type EventSource = 'experiment' | 'gameday';

/** Each event's CloudEvents `type`: reverse-DNS, what happened in the past tense. */
const TYPE_NAMES: Record<NotifyEvent, string> = {
  start: 'started',
  inject: 'fault.injected',
  abort: 'aborted',
  verdict: 'verdict',
  approval: 'approval.requested',
  stuck: 'revert.stuck',
};
export const eventType = (source: EventSource, e: NotifyEvent) => `dev.faultline.${source}.${TYPE_NAMES[e]}`;

export interface CloudEvent {
  specversion: '1.0';
  /** `<run ID>.<sequence>`: one per event of the run (every receiver and every retry sees the same). */
  id: string;
  /** `/faultline/<experiment|gameday>/<workflow ID>`. */
  source: string;
  type: string;
  /** RFC 3339, the workflow's time when the event happened. */
  time: string;
  /** What the event is about: the experiment's title, a fault's summary, a gate's step. */
  subject: string;
  datacontenttype: 'application/json';
  /** Extension attribute: the event's short name, as a `notify.events` entry names it. */
  faultlineevent: NotifyEvent;
  data: Record<string, unknown>;
}

export function cloudEvent(a: {
  source: EventSource;
  workflowId: string;
  runId: string;
  seq: number;
  event: NotifyEvent;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}): CloudEvent {
  return {
    specversion: '1.0',
    id: `${a.runId}.${a.seq}`,
    source: `/faultline/${a.source}/${encodeURIComponent(a.workflowId)}`,
    type: eventType(a.source, a.event),
    time: a.time,
    subject: a.subject,
    datacontenttype: 'application/json',
    faultlineevent: a.event,
    data: a.data,
  };
}

/** Whether a receiver takes this event (no `events` list: every event). */
export const wants = (r: Receiver, e: NotifyEvent) => !r.events || r.events.includes(e);

/** What messages call a receiver: its name, else its URL's host, else the variable holding its URL. */
export function receiverName(r: Receiver): string {
  if (r.name) return r.name;
  if (typeof r.url !== 'string') return `$${r.url.env}`;
  const m = /^https?:\/\/([^/?#]+)/i.exec(r.url);
  return m?.[1] ?? r.url;
}
