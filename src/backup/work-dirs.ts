import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod/v3";
import { isProcessAlive } from "./env-lock.js";

/** Hidden, so neither `list` nor a person's `ls backups/` mistakes it for a backup. */
export const IN_PROGRESS_PREFIX = ".inprogress-";
export const LOGS_DIR = ".logs";

const ownerSchema = z.object({ pid: z.number().int(), host: z.string(), startedAt: z.string() });

export function inProgressDir(root: string, id: string): string {
  return path.join(root, `${IN_PROGRESS_PREFIX}${id}`);
}

export function logPath(root: string, id: string): string {
  return path.join(root, LOGS_DIR, `${id}.log`);
}

const OWNER_FILE = ".owner.json";

/** 0700: a backup holds every row of the database. */
export function createInProgressDir(root: string, id: string): string {
  const dir = inProgressDir(root, id);
  mkdirSync(dir, { recursive: false, mode: 0o700 });
  writeFileSync(
    path.join(dir, OWNER_FILE),
    JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() }),
  );
  return dir;
}

/** Called just before the rename into place: a finished backup carries no run bookkeeping. */
export function releaseInProgressDir(dir: string): void {
  rmSync(path.join(dir, OWNER_FILE), { force: true });
}

const YOUNG_MS = 60_000;

export interface StaleReport {
  /** Folders of runs whose process is gone: removed. */
  removed: string[];
  /** Folders of runs still going (or on another host): left alone. */
  running: string[];
}

/** A killed run leaves a hidden folder behind; the next start removes it (its log stays in .logs/). */
export function cleanStaleInProgress(root: string): StaleReport {
  const report: StaleReport = { removed: [], running: [] };
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return report;
  }
  for (const name of names) {
    if (!name.startsWith(IN_PROGRESS_PREFIX)) continue;
    const dir = path.join(root, name);
    let owner: z.infer<typeof ownerSchema> | undefined;
    try {
      owner = ownerSchema.parse(JSON.parse(readFileSync(path.join(dir, OWNER_FILE), "utf8")));
    } catch {
      owner = undefined;
      // Another run may have just made the folder and not yet written its owner file.
      if (Date.now() - statSync(dir).mtimeMs < YOUNG_MS) {
        report.running.push(dir);
        continue;
      }
    }
    const alive = owner !== undefined && (owner.host !== os.hostname() || isProcessAlive(owner.pid));
    if (alive && owner?.pid !== process.pid) {
      report.running.push(dir);
      continue;
    }
    if (owner?.pid === process.pid) continue; // our own, still working
    rmSync(dir, { recursive: true, force: true });
    report.removed.push(dir);
  }
  return report;
}
