// The warden's ledger: a directory on the disk of the Docker host, shared by the runner (which grants,
// renews and releases leases) and the warden (which reverts what lapsed). Files, not a service, so the
// ledger survives the warden's own restart and needs no port:
//   active/<id>.json     a lease; its mtime is the last renewal (renew = utimes, which cannot re-create it)
//   reverting/<id>.json  claimed by the warden (an atomic rename out of active/), being reverted
//   lapsed/<id>.json     what the warden did: the lease, when it lapsed, when it was reverted (or the error)
//   warden.json          the warden's heartbeat; its mtime says whether a warden is watching
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LapsedLease, Lease, LeasePort } from '../faults/ports.ts';
import { InvalidInput, WardenUnavailable } from '../errors.ts';

/** A warden whose heartbeat is older than this is not watching. It beats every WARDEN_BEAT_MS. */
export const WARDEN_STALE_MS = 3_000;
export const WARDEN_BEAT_MS = 500;

const ID = /^[A-Za-z0-9_.-]{1,200}$/;

export interface WardenBeat {
  pid: number;
  startedAt: string;
  at: string;
}

export interface ActiveLease extends Lease {
  /** When the lease lapses unless renewed (last renewal + leaseMs). */
  expiresAt: string;
}

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

function file(dir: string, sub: 'active' | 'reverting' | 'lapsed', id: string): string {
  if (!ID.test(id)) throw new InvalidInput(`lease id ${JSON.stringify(id)} is not a plain file name`);
  return path.join(dir, sub, `${id}.json`);
}

async function writeAtomic(target: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, target);
}

async function readJson<T>(p: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(p, 'utf8')) as T;
  } catch (e) {
    if (isMissing(e) || e instanceof SyntaxError) return undefined; // gone, or a torn file from a crash
    throw e;
  }
}

async function ids(dir: string, sub: string): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(dir, sub))).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5));
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** The warden's last heartbeat and its age, or undefined when no warden ever watched this ledger. */
export async function wardenBeat(dir: string): Promise<(WardenBeat & { ageMs: number }) | undefined> {
  try {
    const st = await fs.stat(path.join(dir, 'warden.json'));
    const beat = await readJson<WardenBeat>(path.join(dir, 'warden.json'));
    return beat ? { ...beat, ageMs: Date.now() - st.mtimeMs } : undefined;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export async function assertWatched(dir: string): Promise<void> {
  const beat = await wardenBeat(dir);
  if (!beat || beat.ageMs > WARDEN_STALE_MS)
    throw new WardenUnavailable(
      `no warden watches the lease ledger ${dir}${beat ? ` (last heartbeat ${Math.round(beat.ageMs / 1000)} s ago)` : ''}: a container fault would have no lease, so nothing is injected (the worker starts the warden; see faultline sweep)`,
    );
}

/** The runner's side of the ledger. */
export function createLeaseLedger(dir: string): LeasePort & { dir: string } {
  return {
    dir,
    ready: () => assertWatched(dir),
    async grant(lease: Lease, holdMs = 0) {
      await assertWatched(dir);
      const p = file(dir, 'active', lease.id);
      await writeAtomic(p, JSON.stringify(lease));
      // The mtime is the last renewal; one in the future holds the lease until mtime + leaseMs.
      const extra = Math.max(0, holdMs - lease.leaseMs);
      if (extra) await fs.utimes(p, new Date(), new Date(Date.now() + extra));
    },
    async renew(id: string) {
      const now = new Date();
      try {
        await fs.utimes(file(dir, 'active', id), now, now);
        return true;
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
    async release(id: string) {
      await fs.rm(file(dir, 'active', id), { force: true });
    },
    lapsed: (id: string) => lapsedLease(dir, id),
  };
}

/** How long the runner waits for a warden that claimed a lease to record what its revert did. */
const SETTLE_WAIT_MS = 3_000;

/**
 * The warden's record of a lease it took, or undefined when it never did. A lease it claimed but has not
 * settled yet (its revert in flight) is waited for briefly; still unsettled, it says so as the error.
 */
export async function lapsedLease(dir: string, id: string): Promise<LapsedLease | undefined> {
  for (const until = Date.now() + SETTLE_WAIT_MS; ;) {
    const rec = await readJson<LapsedLease>(file(dir, 'lapsed', id));
    const claim = await readJson<Lease>(file(dir, 'reverting', id));
    if (rec && (rec.revertedAt || !claim)) return rec;
    if (!claim) return undefined;
    if (Date.now() > until)
      return (
        rec ?? { lease: claim, lapsedAt: new Date().toISOString(), error: 'claimed by the warden, revert not settled' }
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- the warden's and the sweeper's side ------------------------------------------------------------

export async function writeBeat(dir: string, beat: WardenBeat): Promise<void> {
  await writeAtomic(path.join(dir, 'warden.json'), JSON.stringify(beat));
}

/** Every active lease with its expiry (from the file's mtime). */
export async function activeLeases(dir: string): Promise<ActiveLease[]> {
  const out: ActiveLease[] = [];
  for (const id of await ids(dir, 'active')) {
    const p = file(dir, 'active', id);
    try {
      const st = await fs.stat(p);
      const lease = await readJson<Lease>(p);
      if (lease) out.push({ ...lease, expiresAt: new Date(st.mtimeMs + lease.leaseMs).toISOString() });
    } catch (e) {
      if (!isMissing(e)) throw e; // released meanwhile
    }
  }
  return out;
}

/** Takes ownership of a lapsed lease (atomic rename); false when a revert released it first. */
export async function claimLease(dir: string, id: string): Promise<boolean> {
  try {
    await fs.mkdir(path.join(dir, 'reverting'), { recursive: true });
    await fs.rename(file(dir, 'active', id), file(dir, 'reverting', id));
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

/** Leases the warden claimed but had not settled (it died mid-revert): revert them again. */
export async function claimedLeases(dir: string): Promise<Lease[]> {
  const out: Lease[] = [];
  for (const id of await ids(dir, 'reverting')) {
    const l = await readJson<Lease>(file(dir, 'reverting', id));
    if (l) out.push(l);
  }
  return out;
}

/** Records what the warden did and drops the claim; a failed revert stays claimed and is retried. */
export async function settleLease(dir: string, rec: LapsedLease): Promise<void> {
  await writeAtomic(file(dir, 'lapsed', rec.lease.id), JSON.stringify(rec));
  if (rec.revertedAt) await fs.rm(file(dir, 'reverting', rec.lease.id), { force: true });
}

export async function lapsedLeases(dir: string): Promise<LapsedLease[]> {
  const out: LapsedLease[] = [];
  for (const id of await ids(dir, 'lapsed')) {
    const r = await readJson<LapsedLease>(file(dir, 'lapsed', id));
    if (r) out.push(r);
  }
  return out;
}
