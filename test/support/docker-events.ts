// The one reader of Docker's event log for tests and benches: the daemon's own replay of its events
// between two times, with the daemon's filters, parsed and in order. (test/helpers.ts dockerEvents adds the
// test run's own recording of the first daemon, which replays only its last 256 events.)
import type Dockerode from 'dockerode';

/** One event as the daemon writes it (`docker events --format '{{json .}}'`). */
export interface DockerEvent {
  Type?: string;
  Action: string;
  id?: string;
  timeNano: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * The daemon's events from `sinceMs` to `untilMs` (epoch ms; default now), matching `filters` as
 * `docker events --filter` does (container, event, type, network, label, ...), oldest first.
 */
export async function dockerEventLog(
  dk: Dockerode,
  o: { sinceMs: number; untilMs?: number; filters: Record<string, string[]> },
): Promise<DockerEvent[]> {
  const untilMs = o.untilMs ?? Date.now();
  const stream = (await dk.getEvents({
    since: Math.floor(o.sinceMs / 1000) - 1,
    until: Math.ceil(untilMs / 1000) + 1,
    filters: o.filters,
  })) as NodeJS.ReadableStream;
  let raw = '';
  for await (const chunk of stream) raw += chunk.toString();
  const upTo = o.untilMs ?? Infinity; // without an end, everything the daemon replayed up to now
  return parseEvents(raw).filter((e) => e.timeNano / 1e6 >= o.sinceMs && e.timeNano / 1e6 <= upTo);
}

/** Whole lines of the event log's JSON, in order of time (a half-written last line is left out). */
export function parseEvents(text: string): DockerEvent[] {
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DockerEvent)
    .sort((a, b) => a.timeNano - b.timeNano);
}

/** An event's time as an ISO string, to Docker's millisecond. */
export const eventIso = (e: DockerEvent): string => new Date(Math.floor(e.timeNano / 1e6)).toISOString();
