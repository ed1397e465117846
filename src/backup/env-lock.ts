import { DbBackupError } from "../errors.js";
import type { Liveness } from "../state/instance.js";
import { acquireLock, type HeldLock, type LockRecord, type WaitNotice } from "../state/locks.js";
import type { StateStore } from "../state/store.js";

export type { HeldLock, WaitNotice };

const ENV_LOCK_PREFIX = "backup:";

export function envLockName(env: string): string {
  return `${ENV_LOCK_PREFIX}${env}`;
}

/** The env a lock name is the backup lock of, or undefined for any other lock. */
export function envOfLock(name: string): string | undefined {
  return name.startsWith(ENV_LOCK_PREFIX) ? name.slice(ENV_LOCK_PREFIX.length) : undefined;
}

function utc(iso: string): string {
  return `${iso.replace("T", " ").slice(0, 19)} UTC`;
}

/** "pid 41 on db-host" and how we know it is alive: the person reading decides whether to wait. */
export function describeHolder(holder: LockRecord, liveness: Exclude<Liveness, { state: "dead" }>): string {
  const where = `pid ${holder.pid} on ${holder.host}`;
  if (liveness.state === "running") return `${where}, running`;
  return `${where}, which renewed its lease at ${utc(liveness.record.renewedAt).slice(11)}`;
}

/**
 * One backup per env at a time, across processes and hosts sharing the state. A holder that died is
 * taken over: at once when its process is provably gone, else when its lease runs out (`onWait` is
 * told how long that is).
 */
export async function acquireEnvLock(
  store: StateStore,
  request: { env: string; backupId: string; jobId: string; requestedBy: string },
  options: { onWait?: (notice: WaitNotice) => void; signal?: AbortSignal } = {},
): Promise<HeldLock> {
  const attempt = await acquireLock(
    store,
    {
      name: envLockName(request.env),
      jobId: request.jobId,
      requestedBy: request.requestedBy,
      what: request.backupId,
    },
    options,
  );
  if ("held" in attempt) return attempt.held;
  const { holder, liveness } = attempt;
  throw new DbBackupError(
    "backup_running",
    `A ${request.env} backup is already running: ${holder.requestedBy} started it at ${utc(holder.startedAt)} (${holder.what}; ${describeHolder(holder, liveness)}).`,
    "Wait for it to finish (dbbackup list shows it when done) or stop that process, then run again.",
  );
}
