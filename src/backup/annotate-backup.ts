import { DbBackupError } from "../errors.js";
import { type Annotation, annotate } from "../state/annotations.js";
import type { StateStore } from "../state/store.js";
import { readBackupFolder } from "./backup-folders.js";

/**
 * Changes what the state says about backup `id` of `root`, in one transaction with a last look that
 * it is still a backup there: a prune deleting it at that moment either went first (then this
 * refuses, saying `gone`, e.g. "while it was verified") or sees the change.
 */
export function annotateBackup<R>(
  store: StateStore,
  root: string,
  id: string,
  gone: string,
  change: (current: Annotation) => { next: Annotation; result: R },
): Promise<R> {
  return annotate(
    store,
    id,
    async () => {
      if ("reason" in (await readBackupFolder(root, id))) {
        throw new DbBackupError(
          "not_found",
          `Backup ${id} was deleted ${gone}.`,
          "Run `dbbackup list` to see the backups that are left.",
        );
      }
    },
    change,
  );
}
