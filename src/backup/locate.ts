import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import { listBackups } from "./catalog.js";
import { isBackupId } from "./ids.js";

/**
 * A backup folder from what a person types: an id under the backups folder, a path to a backup
 * folder, or `latest` (the newest backup of `env` that passed stage 2).
 */
export async function locateBackup(root: string, ref: string, cwd: string, env = "staging"): Promise<string> {
  if (ref === "latest") {
    const { backups } = await listBackups(root, env);
    const newest = backups.find((b) => b.stage === "readable" || b.stage === "restored");
    if (newest) return newest.dir;
    throw new DbBackupError(
      "not_found",
      `No ${env} backup in ${root} has passed verification yet.`,
      `Take one first: dbbackup ${env === "staging" ? "" : `${env} `}pre-upgrade`,
    );
  }
  if (isBackupId(ref)) {
    const dir = path.join(root, ref);
    if (existsSync(dir)) return dir;
    throw new DbBackupError(
      "not_found",
      `No backup ${ref} in ${root}.`,
      "Run `dbbackup list` to see the ids.",
    );
  }
  if (ref.includes("/") || ref.startsWith(".")) {
    const dir = path.resolve(cwd, ref);
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
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
