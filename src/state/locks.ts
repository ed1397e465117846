import { z } from "zod/v3";
import type { Liveness } from "./instance.js";
import type { DocSpec, StateStore, StateTx } from "./store.js";

/**
 * Named locks, each held by an instance: alive exactly as long as that instance's lease. One backup
 * per env is `backup:<env>`, one run per scheduled job `job:<name>`, and a restore test or verify
 * reading a backup holds `reading:<id>:<run>` (several may read at once; prune waits for none).
 */
const lockSchema = z.object({
  name: z.string(),
  instance: z.string(),
  pid: z.number().int(),
  host: z.string(),
  /** Short id of the run; also its sessions' application_name on the server: dbbackup:<jobId>. */
  jobId: z.string(),
  requestedBy: z.string(),
  startedAt: z.string(),
  /** What it protects, in words or an id: the backup id, "retention job"… */
  what: z.string(),
});
export type LockRecord = z.infer<typeof lockSchema>;

export const locksDoc: DocSpec<{ locks: Record<string, LockRecord> }> = {
  name: "locks",
  schema: z.object({ locks: z.record(lockSchema) }),
  empty: () => ({ locks: {} }),
};

/** Runs whose instance died holding a lock: their sessions on a server may still be there. */
const orphanSchema = z.object({ jobId: z.string(), lock: z.string(), since: z.string() });
export type OrphanRun = z.infer<typeof orphanSchema>;
export const orphansDoc: DocSpec<{ runs: OrphanRun[] }> = {
  name: "orphans",
  schema: z.object({ runs: z.array(orphanSchema) }),
  empty: () => ({ runs: [] }),
};

export interface LockRequest {
  name: string;
  jobId: string;
  requestedBy: string;
  what: string;
}

export interface HeldLock {
  record: LockRecord;
  /** A dead instance's lock that was taken over, and how it was known to be dead. */
  tookOverFrom?: { record: LockRecord; why: string };
  release(): Promise<void>;
}

export type LockAttempt =
  | { held: HeldLock }
  | { holder: LockRecord; liveness: Exclude<Liveness, { state: "dead" }> };

async function markOrphan(tx: StateTx, record: LockRecord): Promise<void> {
  const doc = await tx.read(orphansDoc);
  const weekAgo = Date.now() - 7 * 86_400_000;
  await tx.write(orphansDoc, {
    runs: [
      ...doc.runs.filter((r) => r.jobId !== record.jobId && Date.parse(r.since) > weekAgo),
      { jobId: record.jobId, lock: record.name, since: new Date().toISOString() },
    ],
  });
}

/**
 * One try: the lock is ours, or here is who holds it and how alive they are. A dead holder's is taken
 * over. `guard` runs inside the same transaction first (it throws to refuse).
 */
export async function tryLock(
  store: StateStore,
  request: LockRequest,
  guard?: (tx: StateTx) => Promise<void>,
): Promise<LockAttempt> {
  store.holdLease("lock holder");
  const me = store.instance();
  return store.transact(async (tx): Promise<LockAttempt> => {
    await guard?.(tx);
    const doc = await tx.read(locksDoc);
    const current = doc.locks[request.name];
    let tookOverFrom: HeldLock["tookOverFrom"];
    if (current) {
      // Our own instance is judged like any other: its lease file shows this very process running.
      const liveness = await store.liveness(current.instance);
      if (liveness.state !== "dead") return { holder: current, liveness };
      tookOverFrom = { record: current, why: liveness.why };
      await markOrphan(tx, current);
    }
    const record: LockRecord = {
      name: request.name,
      instance: me.id,
      pid: me.pid,
      host: me.host,
      jobId: request.jobId,
      requestedBy: request.requestedBy,
      startedAt: new Date().toISOString(),
      what: request.what,
    };
    await tx.write(locksDoc, { locks: { ...doc.locks, [request.name]: record } });
    return {
      held: {
        record,
        ...(tookOverFrom ? { tookOverFrom } : {}),
        release: () => releaseLock(store, record),
      },
    };
  });
}

export async function releaseLock(store: StateStore, record: LockRecord): Promise<void> {
  await store.transact(async (tx) => {
    const doc = await tx.read(locksDoc);
    const current = doc.locks[record.name];
    if (current?.instance !== record.instance || current.jobId !== record.jobId) return;
    const { [record.name]: _gone, ...rest } = doc.locks;
    await tx.write(locksDoc, { locks: rest });
  });
}

export interface WaitNotice {
  holder: LockRecord;
  liveness: Exclude<Liveness, { state: "dead" | "running" }>;
  /** When the holder's lease runs out if it doesn't renew. */
  expiresAt: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * The lock, waiting out a holder that can't be seen from here (another host or container) until it
 * either renews its lease (then it is alive: refused) or lets it expire (then it is taken over). A
 * holder seen running on this machine is refused at once.
 */
export async function acquireLock(
  store: StateStore,
  request: LockRequest,
  options: { onWait?: (notice: WaitNotice) => void; signal?: AbortSignal } = {},
): Promise<LockAttempt> {
  let firstRenewal: string | undefined;
  for (;;) {
    const attempt = await tryLock(store, request);
    if ("held" in attempt || attempt.liveness.state === "running") return attempt;
    const { record } = attempt.liveness;
    if (firstRenewal === undefined) {
      firstRenewal = record.renewedAt;
      options.onWait?.({ holder: attempt.holder, liveness: attempt.liveness, expiresAt: record.expiresAt });
    } else if (record.renewedAt !== firstRenewal) {
      return attempt; // it renewed while we watched: alive
    }
    if (options.signal?.aborted) return attempt;
    const untilExpiry = Date.parse(record.expiresAt) - Date.now();
    await sleep(Math.max(50, Math.min(record.renewMs / 2, untilExpiry + 50)), options.signal);
  }
}

export interface LockView extends LockRecord {
  liveness: Liveness;
}

/** Locks whose name starts with `prefix`, with their holders' liveness. */
export async function listLocks(store: StateStore, prefix = ""): Promise<LockView[]> {
  const doc = await store.read(locksDoc);
  const records = Object.values(doc.locks).filter((l) => l.name.startsWith(prefix));
  return Promise.all(
    records.map(async (record) => ({ ...record, liveness: await store.liveness(record.instance) })),
  );
}

/** Removes every lock whose instance is dead; returns them (their runs are recorded as orphans). */
export async function sweepDeadLocks(store: StateStore): Promise<LockRecord[]> {
  const dead = (await listLocks(store)).filter((l) => l.liveness.state === "dead");
  if (dead.length === 0) return [];
  return store.transact(async (tx) => {
    const doc = await tx.read(locksDoc);
    const removed: LockRecord[] = [];
    const locks = { ...doc.locks };
    for (const candidate of dead) {
      const current = locks[candidate.name];
      if (current?.instance !== candidate.instance || current.jobId !== candidate.jobId) continue;
      if ((await store.liveness(current.instance)).state !== "dead") continue;
      delete locks[candidate.name];
      removed.push(current);
      await markOrphan(tx, current);
    }
    if (removed.length > 0) await tx.write(locksDoc, { locks });
    return removed;
  });
}
