// Blackout windows: when no experiment may start. Pure and workflow-safe (the admission workflow
// evaluates them at workflow time): local weekday, time and date in the window's IANA time zone come
// from Intl.DateTimeFormat, so daylight-saving changes are the time zone database's business.
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BlackoutWindow {
  name: string;
  /** IANA time zone for weekdays, hours and dates; default UTC. */
  timeZone?: string;
  weekdays?: Weekday[];
  /** Local time of day, "HH:MM"; `to` before `from` wraps past midnight; `to` is exclusive. */
  hours?: { from: string; to: string };
  /** Local dates, "YYYY-MM-DD". */
  dates?: string[];
  /** A freeze: absolute instants (ISO 8601); either may be omitted. */
  from?: string;
  until?: string;
}

export interface LocalTime {
  weekday: Weekday;
  date: string; // YYYY-MM-DD
  minutes: number; // since local midnight
}

/** true when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function localTime(ms: number, timeZone = 'UTC'): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    weekday: get('weekday').toLowerCase().slice(0, 3) as Weekday,
    date: `${get('year')}-${get('month')}-${get('day')}`,
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

export function hhmm(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Every condition a window names must hold at `ms` (an unnamed condition always holds). */
export function windowActive(w: BlackoutWindow, ms: number): boolean {
  if (w.from && ms < Date.parse(w.from)) return false;
  if (w.until && ms >= Date.parse(w.until)) return false;
  if (!w.weekdays && !w.hours && !w.dates) return true;
  const t = localTime(ms, w.timeZone);
  if (w.weekdays && !w.weekdays.includes(t.weekday)) return false;
  if (w.dates && !w.dates.includes(t.date)) return false;
  if (w.hours) {
    const from = hhmm(w.hours.from);
    const to = hhmm(w.hours.to);
    const inside = from < to ? t.minutes >= from && t.minutes < to : t.minutes >= from || t.minutes < to;
    if (!inside) return false;
  }
  return true;
}

export function activeWindow(windows: readonly BlackoutWindow[], ms: number): BlackoutWindow | undefined {
  return windows.find((w) => windowActive(w, ms));
}

/** "weekdays mon,tue 09:00-18:00 Europe/Paris", "freeze until 2026-12-01T00:00:00Z". */
export function describeWindow(w: BlackoutWindow): string {
  const parts: string[] = [];
  if (w.weekdays) parts.push(w.weekdays.join(','));
  if (w.dates) parts.push(`on ${w.dates.join(', ')}`);
  if (w.hours) parts.push(`${w.hours.from}-${w.hours.to}`);
  if (w.weekdays || w.dates || w.hours) parts.push(w.timeZone ?? 'UTC');
  if (w.from) parts.push(`from ${w.from}`);
  if (w.until) parts.push(`until ${w.until}`);
  return parts.join(' ');
}
