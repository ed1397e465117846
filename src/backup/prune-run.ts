import { readdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { annotationsDoc, forgetAnnotations } from "../state/annotations.js";
import { listLocks, locksDoc } from "../state/locks.js";
import type { StateStore, StateTx } from "../state/store.js";
import { backupFacts } from "./backup-facts.js";
import { readBackupFolder } from "./backup-folders.js";
import { envLockName, envOfLock } from "./env-lock.js";
import { parseBackupId } from "./ids.js";
import { isReadingLock } from "./restore-lock.js";
import type { RetentionDecision, RetentionFacts, RunningBackup } from "./retention.js";
import { recordGone } from "./shared-catalog.js";

/** Where a folder being deleted goes first, so nothing half-deleted ever looks like a backup. */
export const PRUNING_PREFIX = ".pruning-";

/** Env locks of live runs (of the given envs), and the backups restore tests or verifies are reading now. */
export async function gatherFacts(store: StateStore, envs: Iterable<string>): Promise<RetentionFacts> {
  const wanted = new Set(envs);
  const running = new Map<string, RunningBackup>();
  const inUse = new Set<string>();
  for (const lock of await listLocks(store)) {
    if (lock.liveness.state === "dead") continue;
    const env = envOfLock(lock.name);
    if (env !== undefined && wanted.has(env))
      running.set(env, { id: lock.what, requestedBy: lock.requestedBy, startedAt: lock.startedAt });
    else if (isReadingLock(lock.name)) inUse.add(lock.what);
  }
  return { running, inUse };
}

export interface RetentionOutcome {
  deleted: string[];
  /** Planned for deletion but kept: what changed since the plan (a backup started, a pin, …). */
  spared: { id: string; reason: string }[];
  failed: { id: string; reason: string }[];
  /** Stopped early (Ctrl-C): the rest of the plan was not carried out. */
  stopped: boolean;
}

/**
 * Why a backup planned for deletion must stay after all, checked inside the transaction that moves it
 * out of sight: a backup of its env started, a restore test or verify is reading it, it was pinned.
 */
async function recheck(
  root: string,
  store: StateStore,
  tx: StateTx,
  d: RetentionDecision,
): Promise<string | undefined> {
  const { locks } = await tx.read(locksDoc);
  for (const lock of Object.values(locks)) {
    const concerns = lock.name === envLockName(d.env) || (isReadingLock(lock.name) && lock.what === d.id);
    if (!concerns || (await store.liveness(lock.instance)).state === "dead") continue;
    return envOfLock(lock.name) !== undefined
      ? `a ${d.env} backup started meanwhile (${lock.what}, ${lock.requestedBy}): nothing of ${d.env} is touched while it runs`
      : "a restore test or verify started reading it meanwhile";
  }
  const found = await readBackupFolder(root, d.id);
  if ("reason" in found) return `left alone: ${found.reason}`;
  const { backups } = await tx.read(annotationsDoc);
  const pin = backupFacts(found.manifest, backups[d.id]).pin;
  if (pin) return `pinned meanwhile by ${pin.by}`;
  return undefined;
}

/**
 * Deletes what the plan says to delete, oldest first. Each one, inside one state transaction, is
 * checked again (env lock, readers, pin) and renamed to a hidden `.pruning-<id>`; so a `keep` or a
 * restore test either came first and spares it, or comes after and finds it gone. The hidden folder
 * is then removed; an interrupted removal never leaves a half backup that `list` would show, and
 * leftovers are removed at the next prune.
 */
export async function executeRetention(
  root: string,
  store: StateStore,
  plan: readonly RetentionDecision[],
  signal?: AbortSignal,
): Promise<RetentionOutcome> {
  const outcome: RetentionOutcome = { deleted: [], spared: [], failed: [], stopped: false };
  await removeLeftovers(root);
  const doomed = plan.filter((d) => d.action === "delete").sort((a, b) => a.id.localeCompare(b.id));
  for (const d of doomed) {
    if (signal?.aborted) {
      outcome.stopped = true;
      break;
    }
    const trash = path.join(root, `${PRUNING_PREFIX}${d.id}`);
    const moved = await store.transact(
      async (tx): Promise<{ spared: string } | { failed: string } | "moved"> => {
        const why = await recheck(root, store, tx, d);
        if (why) return { spared: why };
        try {
          await rename(path.join(root, d.id), trash);
        } catch (error) {
          return { failed: (error as Error).message };
        }
        await forgetAnnotations(tx, [d.id]);
        return "moved";
      },
    );
    if (moved !== "moved") {
      if ("spared" in moved) outcome.spared.push({ id: d.id, reason: moved.spared });
      else outcome.failed.push({ id: d.id, reason: moved.failed });
      continue;
    }
    await recordGone(store, [d.id]).catch(() => {});
    try {
      await rm(trash, { recursive: true });
      outcome.deleted.push(d.id);
    } catch (error) {
      // Out of sight already (hidden name, so never listed); the next prune finishes the job.
      outcome.failed.push({
        id: d.id,
        reason: `moved to ${trash} but not fully removed (the next prune retries): ${(error as Error).message}`,
      });
    }
  }
  return outcome;
}

async function removeLeftovers(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PRUNING_PREFIX) || !parseBackupId(name.slice(PRUNING_PREFIX.length))) continue;
    await rm(path.join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}
