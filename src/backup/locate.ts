import { lstatSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import { type BackupSummary, listBackups } from "./catalog.js";
import { isBackupId } from "./ids.js";

export interface LocatedBackup {
  dir: string;
  /**
   * Set when `dir` is the backups folder's own entry `<root>/<id>` (a real folder): what is learned
   * about it (re-verify, restore test) is recorded under this id. A copy elsewhere is only read.
   */
  ownId?: string;
}

function symlinkRefused(dir: string): DbBackupError {
  return new DbBackupError(
    "not_a_backup",
    `${dir} is a symbolic link, not a backup folder: dbbackup never follows links in the backups folder.`,
    "Give the id of a real backup (`dbbackup list`), or the path the link points to.",
  );
}

/**
 * The id whose record a check of `located` may change: only when the folder is the backups folder's
 * own entry and its manifest is that backup's (not a copy, not a renamed folder).
 */
export function recordableId(located: LocatedBackup, manifestId: string): string | undefined {
  return located.ownId !== undefined && located.ownId === manifestId ? located.ownId : undefined;
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/** The newest backup of `env` that passed stage 2: what `latest` means everywhere. */
export async function newestVerified(root: string, store: StateStore, env: string): Promise<BackupSummary> {
  const { backups } = await listBackups(root, store, env);
  const newest = backups.find((b) => b.stage === "readable" || b.stage === "restored");
  if (newest) return newest;
  throw new DbBackupError(
    "not_found",
    `No ${env} backup in ${root} has passed verification yet.`,
    `Take one first: dbbackup ${env === "staging" ? "" : `${env} `}pre-upgrade`,
  );
}

/**
 * A backup folder from what a person types: an id under the backups folder, a path to a backup
 * folder, or `latest` (the newest backup of `env` that passed stage 2). A symbolic link inside the
 * backups folder is never a backup.
 */
export async function locateBackup(
  root: string,
  store: StateStore,
  ref: string,
  cwd: string,
  env = "staging",
): Promise<LocatedBackup> {
  if (ref === "latest") {
    const newest = await newestVerified(root, store, env);
    return { dir: newest.dir, ownId: newest.id };
  }
  if (isBackupId(ref)) {
    const dir = path.join(root, ref);
    let stats: ReturnType<typeof lstatSync>;
    try {
      stats = lstatSync(dir);
    } catch {
      throw new DbBackupError(
        "not_found",
        `No backup ${ref} in ${root}.`,
        "Run `dbbackup list` to see the ids.",
      );
    }
    if (stats.isSymbolicLink()) throw symlinkRefused(dir);
    if (!stats.isDirectory())
      throw new DbBackupError("not_found", `${dir} is not a folder.`, "Run `dbbackup list` to see the ids.");
    return { dir, ownId: ref };
  }
  if (ref.includes("/") || ref.startsWith(".")) {
    const dir = path.resolve(cwd, ref);
    let stats: ReturnType<typeof lstatSync> | undefined;
    try {
      stats = lstatSync(dir);
    } catch {
      stats = undefined;
    }
    const parent = realOrNull(path.dirname(dir));
    const inRoot = parent !== null && parent === realOrNull(root);
    if (stats && inRoot) {
      if (stats.isSymbolicLink()) throw symlinkRefused(dir);
      if (stats.isDirectory() && isBackupId(path.basename(dir))) return { dir, ownId: path.basename(dir) };
    }
    // Outside the backups folder a path is only read, so following a link to a copy is fine.
    if (stats && statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return { dir };
    throw new DbBackupError(
      "not_found",
      `${dir} is not a folder.`,
      "Give a backup id or the path of a backup folder.",
    );
  }
  throw new DbBackupError(
    "not_found",
    `"${ref.slice(0, 80)}" is neither a backup id (like 20261123_203000_staging_pre-upgrade), a path, nor "latest".`,
    "Run `dbbackup list` to see the ids.",
  );
}
