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
  try {
    return lockSchema.parse(JSON.parse(readFileSync(lockPath(root, env), "utf8")));
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
  const file = lockPath(root, env);
  mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    requestedBy,
    startedAt: new Date().toISOString(),
    id,
  };
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
          const current = readLock(root, env);
          if (current?.pid === info.pid && current.id === info.id) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readLock(root, env);
      if (holder && isLockLive(holder)) {
        throw new DbBackupError(
          "backup_running",
          `A ${env} backup is already running: ${holder.requestedBy} started it at ${holder.startedAt.replace("T", " ").slice(0, 19)} UTC (${holder.id}, pid ${holder.pid} on ${holder.host}).`,
          "Wait for it to finish (dbbackup list shows it when done) or stop that process, then run again.",
        );
      }
      if (holder) tookOverFrom = holder;
      rmSync(file, { force: true });
    }
  }
  throw new DbBackupError(
    "backup_running",
    `Could not take the ${env} backup lock (${file}).`,
    "Another backup started at the same moment; run again.",
  );
}
