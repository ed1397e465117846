import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { useList } from "../backup/toc.js";
import { listArchive } from "../backup/verify.js";
import { DbBackupError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import { overlapWith, type ShippedOverlap } from "./shipped-overlap.js";
import { PLATFORM_SCHEMAS, type TargetInventory } from "./target-inventory.js";

export interface ArchiveOverlap extends ShippedOverlap {
  /** The archive's `pg_restore --list`, to comment the skipped entries out of. */
  listText: string;
}

/** The archive's table of contents held against what the target's platform already has. */
export async function archiveOverlap(
  pgRestore: string,
  backupDir: string,
  inventory: TargetInventory,
  owner: StateStore,
): Promise<ArchiveOverlap> {
  const listed = await listArchive(backupDir, pgRestore, { owner });
  if (!listed.ok)
    throw new DbBackupError(
      "verify_failed",
      `pg_restore couldn't read the backup's table of contents: ${listed.stderr.trim().split("\n").at(-1) ?? ""}`,
      "Run `dbbackup verify <ID>`: the archive may be damaged.",
    );
  const overlap = overlapWith(listed.toc.entries, PLATFORM_SCHEMAS, inventory.shipped);
  return { ...overlap, listText: listed.stdout };
}

/** `fn` given a --use-list file without the skipped entries (none when nothing is skipped), removed after. */
export async function withUseList<T>(
  overlap: ArchiveOverlap | undefined,
  fn: (file: string | undefined) => Promise<T>,
): Promise<T> {
  if (!overlap || overlap.skip.size === 0) return fn(undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), "dbbackup-use-list-"));
  try {
    const file = path.join(dir, "toc.list");
    await writeFile(file, useList(overlap.listText, overlap.skip), { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
