import { existsSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import { quoted } from "../format.js";
import type { Pin } from "../state/annotations.js";
import { stateFor } from "../state/open.js";
import { annotateBackup } from "./annotate-backup.js";
import { backupFacts } from "./backup-facts.js";
import { readBackupFolder } from "./backup-folders.js";
import { isBackupId } from "./ids.js";
import type { Manifest } from "./manifest.js";

/** The backup `id` names under the backups folder, with its manifest; clear errors otherwise. */
async function loadBackup(root: string, id: string): Promise<{ dir: string; manifest: Manifest }> {
  if (!isBackupId(id)) {
    throw new DbBackupError(
      "not_found",
      `${quoted(id)} is not a backup id (like 20261123_203000_staging_pre-upgrade).`,
      "Run `dbbackup list` to see the ids.",
    );
  }
  const dir = path.join(root, id);
  if (!existsSync(dir)) {
    throw new DbBackupError(
      "not_found",
      `No backup ${id} in ${root}.`,
      "Run `dbbackup list` to see the ids.",
    );
  }
  const found = await readBackupFolder(root, id);
  if ("reason" in found) {
    throw new DbBackupError(
      "bad_manifest",
      `${dir} is not a dbbackup backup: ${found.reason}.`,
      "Only backups dbbackup made can be pinned; `dbbackup list` shows them.",
    );
  }
  return { dir, manifest: found.manifest };
}

/** A pinned or unpinned backup as keep and unkeep report it. */
export interface PinnedBackup {
  id: string;
  dir: string;
  env: string;
  label: string | null;
}

/**
 * Sets or clears a backup's pin in the state, in one transaction with a last look at the folder: a
 * prune deleting it at the same moment either ran first (then this says so) or sees the pin.
 */
export async function setPin(config: Config, id: string, pin: Pin | null) {
  const root = config.backupsDir;
  const { dir, manifest } = await loadBackup(root, id);
  const state = stateFor(config);
  const previous = await annotateBackup(
    state,
    root,
    id,
    "a moment ago (by prune); nothing was changed",
    (current) => ({
      next: { ...current, pin },
      result: backupFacts(manifest, current).pin,
    }),
  );
  const backup: PinnedBackup = { id: manifest.id, dir, env: manifest.env, label: manifest.label };
  return { backup, previous, state };
}
