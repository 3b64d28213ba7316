// The toxics of one proxy: validation of toxic JSON (Toxiproxy's rules, plus range checks), default
// names and streams, leases (Faultline's additive `lease_ms` / `expires_at`), and fanning every change
// out to the live connections. Everything here is synchronous: removal never waits on a connection.
import type { ToxicRef } from './link.ts';
import { STREAMS, type AnyToxicType, type Stream } from './toxic.ts';
import { toxicType, toxicTypes } from './toxics/registry.ts';
import {
  ErrBadRequestBody,
  ErrInvalidStream,
  ErrInvalidToxicType,
  ErrInvalidValue,
  ErrLimit,
  ErrToxicAlreadyExists,
  ErrToxicNotFound,
  joinError,
} from './errors.ts';
import { MAX_LEASE_MS, MAX_NAME_LENGTH, MAX_TOXICITY, MAX_TOXICS_PER_PROXY, MIN_LEASE_MS } from './limits.ts';

export interface Toxic extends ToxicRef {
  /** Epoch ms when the proxy removes it by itself. */
  expiresAt?: number;
  timer?: NodeJS.Timeout;
}

export interface ToxicJson {
  attributes: Record<string, unknown>;
  name: string;
  type: string;
  stream: Stream;
  toxicity: number;
  expires_at?: string;
}

interface LinkOps {
  add(t: ToxicRef): void;
  remove(t: ToxicRef): void;
  replace(t: ToxicRef): void;
}

/** The live connections, as the collection sees them. */
export interface LinkSet {
  forEachLink(stream: Stream, fn: (l: LinkOps) => void): void;
  /** Same, but soon and in batches, never holding up the caller (used for removal, which writes). */
  forEachLinkSoon(stream: Stream, fn: (l: LinkOps) => void): void;
}

type Body = Record<string, unknown>;

function field<T>(body: Body, key: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (!check(v)) throw joinError(`${key} must be ${what}`, ErrBadRequestBody);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

function toxicity(body: Body, current: number): number {
  const t = field(body, 'toxicity', isNumber, 'a number');
  if (t === undefined) return current;
  if (t < 0 || t > MAX_TOXICITY)
    throw joinError(`toxicity must be between 0 and ${MAX_TOXICITY}, got ${t}`, ErrInvalidValue);
  return t;
}

/** lease_ms: a positive number of ms, or null for "no lease"; undefined when absent. */
export function leaseOf(body: Body): number | null | undefined {
  const v = body.lease_ms;
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!isNumber(v) || !Number.isInteger(v) || v < MIN_LEASE_MS || v > MAX_LEASE_MS)
    throw joinError(
      `lease_ms must be a whole number of milliseconds from ${MIN_LEASE_MS} to ${MAX_LEASE_MS}`,
      ErrInvalidValue,
    );
  return v;
}

function attributes(type: AnyToxicType, base: Record<string, unknown>, given: unknown): Record<string, unknown> {
  if (given !== undefined && given !== null && !isObject(given))
    throw joinError('attributes must be an object', ErrBadRequestBody);
  const r = type.attributes.safeParse({ ...base, ...(given ?? {}) });
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = ['attributes', ...(issue?.path ?? [])].join('.');
    throw joinError(`${path}: ${issue?.message ?? 'invalid'}`, ErrInvalidValue);
  }
  return r.data as Record<string, unknown>;
}

/** Why a toxic left its proxy: an API call (DELETE, reset) or its lease lapsing (nobody renewed it). */
export type RemovedBy = 'api' | 'lease';

/** Faultline: when a toxic left its proxy and why, so a revert that finds it gone can tell when. */
export interface RemovedToxic {
  name: string;
  removed_at: string;
  by: RemovedBy;
}

/** Removed toxics remembered per proxy (the oldest forgotten first). */
export const REMEMBERED_REMOVALS = 256;

export class ToxicCollection {
  private readonly byStream: Record<Stream, Toxic[]> = { upstream: [], downstream: [] };
  private readonly gone = new Map<string, RemovedToxic>();

  constructor(
    private readonly links: LinkSet,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Every toxic, upstream chain first (Toxiproxy's order). */
  all(): Toxic[] {
    return [...this.byStream.upstream, ...this.byStream.downstream];
  }

  get(name: string): Toxic | undefined {
    return this.byStream.upstream.find((t) => t.name === name) ?? this.byStream.downstream.find((t) => t.name === name);
  }

  /** POST /proxies/{proxy}/toxics. */
  add(body: unknown): Toxic {
    if (!isObject(body)) throw joinError('expected a JSON object', ErrBadRequestBody);
    const typeName = field(body, 'type', isString, 'a string') ?? '';
    const type = toxicType(typeName);
    const streamText = field(body, 'stream', isString, 'a string');
    const stream = (streamText ?? type?.streams?.[0] ?? 'downstream').toLowerCase() as Stream;
    if (!STREAMS.includes(stream)) throw ErrInvalidStream;
    const name = field(body, 'name', isString, 'a string') || `${typeName}_${stream}`;
    if (!type)
      throw joinError(`"${typeName}" (known: ${toxicTypes.map((t) => t.type).join(', ')})`, ErrInvalidToxicType);
    if (type.streams && !type.streams.includes(stream))
      throw joinError(`${type.type} works on the ${type.streams.join(' or ')} stream only`, ErrInvalidStream);
    if (this.get(name)) throw ErrToxicAlreadyExists;
    if (name.length > MAX_NAME_LENGTH)
      throw joinError(`name is longer than ${MAX_NAME_LENGTH} characters`, ErrBadRequestBody);
    if (this.all().length >= MAX_TOXICS_PER_PROXY)
      throw joinError(`at most ${MAX_TOXICS_PER_PROXY} toxics on one proxy`, ErrLimit);
    const t: Toxic = {
      name,
      type,
      stream,
      toxicity: toxicity(body, 1),
      attributes: attributes(type, type.defaults, body.attributes),
    };
    const lease = leaseOf(body);
    this.gone.delete(name); // on its proxy again: not gone
    this.byStream[stream].push(t);
    if (lease) this.lease(t, lease);
    this.links.forEachLink(stream, (l) => l.add(t));
    this.onChange();
    return t;
  }

  /** PATCH/POST /proxies/{proxy}/toxics/{toxic}: attributes merge, toxicity and lease_ms update. */
  update(name: string, body: unknown): Toxic {
    const t = this.get(name);
    if (!t) throw ErrToxicNotFound;
    if (!isObject(body)) throw joinError('expected a JSON object', ErrBadRequestBody);
    const nextToxicity = toxicity(body, t.toxicity);
    const nextAttrs = body.attributes === undefined ? t.attributes : attributes(t.type, t.attributes, body.attributes);
    const lease = leaseOf(body);
    const changed = nextToxicity !== t.toxicity || JSON.stringify(nextAttrs) !== JSON.stringify(t.attributes);
    t.toxicity = nextToxicity;
    t.attributes = nextAttrs;
    if (lease) this.lease(t, lease);
    else if (lease === null) this.unlease(t);
    // A lease renewal alone leaves the live connections alone (no re-roll, no flush).
    if (changed) this.links.forEachLink(t.stream, (l) => l.replace(t));
    this.onChange();
    return t;
  }

  remove(name: string, by: RemovedBy = 'api'): void {
    const t = this.get(name);
    if (!t) throw ErrToxicNotFound;
    this.unlease(t);
    this.gone.delete(name);
    this.gone.set(name, { name, removed_at: new Date().toISOString(), by });
    if (this.gone.size > REMEMBERED_REMOVALS) this.gone.delete(this.gone.keys().next().value as string);
    const list = this.byStream[t.stream];
    list.splice(list.indexOf(t), 1);
    // The rule is gone for every new connection now; the live ones hand on what the toxic holds and
    // close the gap right after, in batches, so the API never waits on them however many there are.
    this.links.forEachLinkSoon(t.stream, (l) => l.remove(t));
    this.onChange();
  }

  /** When a toxic no longer on this proxy was removed, and why; undefined when it is not remembered. */
  removed(name: string): RemovedToxic | undefined {
    return this.get(name) ? undefined : this.gone.get(name);
  }

  reset(): void {
    for (const t of this.all()) this.remove(t.name);
  }

  private lease(t: Toxic, ms: number): void {
    this.unlease(t);
    const expiresAt = Date.now() + ms;
    t.expiresAt = expiresAt;
    // Node's timers may fire a millisecond before Date.now() reaches their time: a lease never lapses
    // before its expiry (the removal's record says when), so an early timer waits out the rest.
    const lapse = () => {
      const left = expiresAt - Date.now();
      if (left > 0) {
        t.timer = setTimeout(lapse, left);
        t.timer.unref();
        return;
      }
      t.timer = undefined;
      if (this.get(t.name) === t) this.remove(t.name, 'lease');
    };
    t.timer = setTimeout(lapse, ms);
    t.timer.unref();
  }

  private unlease(t: Toxic): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    t.expiresAt = undefined;
  }
}

export function toxicJson(t: Toxic): ToxicJson {
  const j: ToxicJson = {
    attributes: t.attributes,
    name: t.name,
    type: t.type.type,
    stream: t.stream,
    toxicity: t.toxicity,
  };
  if (t.expiresAt !== undefined) j.expires_at = new Date(t.expiresAt).toISOString();
  return j;
}
