import { randomBytes } from "node:crypto";
import { lstatSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import { tryLock } from "../state/locks.js";
import type { StateStore } from "../state/store.js";

/**
 * A restore test or verify marks the backup it reads, so retention never deletes it meanwhile:
 * a lock `reading:<id>:<run>` per run (several may read one backup at once).
 */
const PREFIX = "reading:";

/**
 * Marks `<root>/<id>` as being read, in the same transaction as a last look that it is still there:
 * a prune either deleted it first (then this says so) or sees the mark and spares it.
 */
export async function markInUse(
  store: StateStore,
  root: string,
  id: string,
  requestedBy: string,
): Promise<{ release(): Promise<void> }> {
  const run = randomBytes(4).toString("hex");
  const attempt = await tryLock(
    store,
    { name: `${PREFIX}${id}:${run}`, jobId: run, requestedBy, what: id },
    async () => {
      const there = (() => {
        try {
          return lstatSync(path.join(root, id)).isDirectory();
        } catch {
          return false;
        }
      })();
      if (!there) {
        throw new DbBackupError(
          "not_found",
          `Backup ${id} was deleted a moment ago (by prune).`,
          "Run `dbbackup list` to see the backups that are left.",
        );
      }
    },
  );
  if (!("held" in attempt)) throw new Error(`reading mark ${id}:${run} is taken`); // a random name: never
  return { release: () => attempt.held.release() };
}

/** Whether a lock name marks a backup being read (its `what` is the backup's id). */
export function isReadingLock(name: string): boolean {
  return name.startsWith(PREFIX);
}
