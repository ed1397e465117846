import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod/v3";
import { DbBackupError } from "../errors.js";

const lockSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  requestedBy: z.string(),
  startedAt: z.string(),
  id: z.string(),
});
export type LockInfo = z.infer<typeof lockSchema>;

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function lockPath(root: string, env: string): string {
  return path.join(root, ".locks", `${env}.json`);
}

export function readLock(root: string, env: string): LockInfo | undefined {
  return readLockFile(lockPath(root, env));
}

function readLockFile(file: string): LockInfo | undefined {
  try {
    return lockSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  } catch {
    return undefined;
  }
}

/** Held by a live process (on this host, as far as we can tell). */
export function isLockLive(lock: LockInfo): boolean {
  return lock.host !== os.hostname() || isProcessAlive(lock.pid);
}

export interface EnvLock {
  info: LockInfo;
  /** Set when an abandoned lock (its process gone) was taken over. */
  tookOverFrom?: LockInfo;
  release(): void;
}

/** One backup per env at a time, across processes: an exclusive-create lock file. */
export function acquireEnvLock(root: string, env: string, id: string, requestedBy: string): EnvLock {
  return acquireLockFile(lockPath(root, env), id, requestedBy, (holder) =>
    holder
      ? new DbBackupError(
          "backup_running",
          `A ${env} backup is already running: ${holder.requestedBy} started it at ${holder.startedAt.replace("T", " ").slice(0, 19)} UTC (${holder.id}, pid ${holder.pid} on ${holder.host}).`,
          "Wait for it to finish (dbbackup list shows it when done) or stop that process, then run again.",
        )
      : new DbBackupError(
          "backup_running",
          `Could not take the ${env} backup lock (${lockPath(root, env)}).`,
          "Another backup started at the same moment; run again.",
        ),
  );
}

/**
 * An exclusive-create lock file held by this process; one left by a dead process is taken over.
 * `held` builds the error for a live holder (or, given nothing, for losing a same-moment race).
 */
export function acquireLockFile(
  file: string,
  id: string,
  requestedBy: string,
  held: (holder: LockInfo | undefined) => Error,
): EnvLock {
  mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    requestedBy,
    startedAt: new Date().toISOString(),
    id,
  };
  const read = () => readLockFile(file);
  let tookOverFrom: LockInfo | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(info), { flag: "wx" });
      let released = false;
      return {
        info,
        ...(tookOverFrom ? { tookOverFrom } : {}),
        release() {
          if (released) return;
          released = true;
          const current = read();
          if (current?.pid === info.pid && current.id === info.id) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = read();
      if (holder && isLockLive(holder)) throw held(holder);
      if (holder) tookOverFrom = holder;
      rmSync(file, { force: true });
    }
  }
  throw held(undefined);
}
