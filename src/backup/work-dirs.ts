import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod/v3";
import type { StateStore } from "../state/store.js";

/** Hidden, so neither `list` nor a person's `ls backups/` mistakes it for a backup. */
export const IN_PROGRESS_PREFIX = ".inprogress-";
export const LOGS_DIR = ".logs";

const ownerSchema = z.object({
  instance: z.string(),
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
});

export function inProgressDir(root: string, id: string): string {
  return path.join(root, `${IN_PROGRESS_PREFIX}${id}`);
}

export function logPath(root: string, id: string): string {
  return path.join(root, LOGS_DIR, `${id}.log`);
}

const OWNER_FILE = ".owner.json";

/** 0700: a backup holds every row of the database. Owned by this instance (its lease says if it lives). */
export function createInProgressDir(root: string, id: string, store: StateStore): string {
  const dir = inProgressDir(root, id);
  // The backups folder may not exist yet (a new host's first restore test from the bucket); the run's
  // own folder must be new, so it alone is made without `recursive`.
  mkdirSync(root, { recursive: true });
  mkdirSync(dir, { recursive: false, mode: 0o700 });
  const me = store.instance();
  writeFileSync(
    path.join(dir, OWNER_FILE),
    JSON.stringify({ instance: me.id, pid: me.pid, host: me.host, startedAt: new Date().toISOString() }),
  );
  return dir;
}

/** Called just before the rename into place: a finished backup carries no run bookkeeping. */
export function releaseInProgressDir(dir: string): void {
  rmSync(path.join(dir, OWNER_FILE), { force: true });
}

/** A folder with no owner yet may be a run between mkdir and writing its owner: left alone this long. */
const YOUNG_MS = 60_000;

export interface StaleReport {
  /** Folders of runs whose instance is dead: removed. */
  removed: string[];
  /** Folders of runs still going, or whose instance can't be judged dead yet: left alone. */
  running: string[];
}

/** A killed run leaves a hidden folder behind; whoever starts next removes it (its log stays in .logs/). */
export async function cleanStaleInProgress(root: string, store: StateStore): Promise<StaleReport> {
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
    }
    if (owner) {
      if ((await store.liveness(owner.instance)).state !== "dead") {
        report.running.push(dir);
        continue;
      }
    } else {
      try {
        if (Date.now() - statSync(dir).mtimeMs < YOUNG_MS) {
          report.running.push(dir);
          continue;
        }
      } catch {
        continue; // gone meanwhile
      }
    }
    rmSync(dir, { recursive: true, force: true });
    report.removed.push(dir);
  }
  return report;
}
