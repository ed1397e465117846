import { existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod/v3";
import { annotateBackup } from "../src/backup/annotate-backup.js";
import { backupFacts } from "../src/backup/backup-facts.js";
import { readBackupFolder } from "../src/backup/backup-folders.js";
import { isBackupId } from "../src/backup/ids.js";
import type { Manifest } from "../src/backup/manifest.js";
import { DbBackupError } from "../src/errors.js";
import type { Pin } from "../src/state/annotations.js";
import { audit } from "../src/state/audit.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./context.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export const keepArgs = z.object({
  id: z.string().min(1).max(200),
  reason: z
    .string()
    .max(200, "a reason is at most 200 characters")
    .refine((r) => !CONTROL.test(r), "a reason is one line of text (no newlines or control characters)")
    .optional(),
});
export type KeepArgs = z.input<typeof keepArgs>;

export const unkeepArgs = z.object({ id: z.string().min(1).max(200) });
export type UnkeepArgs = z.input<typeof unkeepArgs>;

export interface KeepResult {
  ok: true;
  id: string;
  dir: string;
  env: string;
  label: string | null;
  pin: Pin;
  /** The pin it replaced, when it was pinned already. */
  previous?: Pin;
}

export interface UnkeepResult {
  ok: true;
  id: string;
  dir: string;
  env: string;
  label: string | null;
  /** The pin removed; absent when the backup was not pinned (nothing changed). */
  previous?: Pin;
}

/** The backup `id` names under the backups folder, with its manifest; clear errors otherwise. */
async function loadBackup(root: string, id: string): Promise<{ dir: string; manifest: Manifest }> {
  const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 57)}...` : id);
  if (!isBackupId(id)) {
    throw new DbBackupError(
      "not_found",
      `${shown} is not a backup id (like 20261123_203000_staging_pre-upgrade).`,
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

/**
 * Sets or clears a backup's pin in the state, in one transaction with a last look at the folder: a
 * prune deleting it at the same moment either ran first (then this says so) or sees the pin.
 */
async function setPin(ctx: CommandContext, id: string, pin: Pin | null) {
  const root = ctx.config.backupsDir;
  const { dir, manifest } = await loadBackup(root, id);
  const state = stateFor(ctx.config);
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
  return { dir, manifest, previous, state };
}

/** Pins a backup: prune never deletes it. Recorded in the state (who, when, why) and audited. */
export async function runKeep(ctx: CommandContext, input: KeepArgs): Promise<KeepResult> {
  const args = keepArgs.parse(input);
  const pin: Pin = { reason: args.reason?.trim() ?? "", by: ctx.requestedBy, at: new Date().toISOString() };
  const { dir, manifest, previous, state } = await setPin(ctx, args.id, pin);
  await audit(state, "pinned", {
    id: manifest.id,
    env: manifest.env,
    reason: pin.reason,
    by: ctx.requestedBy,
    via: ctx.via ?? "terminal",
  });
  return {
    ok: true,
    id: manifest.id,
    dir,
    env: manifest.env,
    label: manifest.label,
    pin,
    ...(previous ? { previous } : {}),
  };
}

/** Removes a backup's pin: retention's usual rules apply to it again. */
export async function runUnkeep(ctx: CommandContext, input: UnkeepArgs): Promise<UnkeepResult> {
  const args = unkeepArgs.parse(input);
  const { dir, manifest, previous, state } = await setPin(ctx, args.id, null);
  if (previous) {
    await audit(state, "unpinned", {
      id: manifest.id,
      env: manifest.env,
      by: ctx.requestedBy,
      via: ctx.via ?? "terminal",
    });
  }
  return {
    ok: true,
    id: manifest.id,
    dir,
    env: manifest.env,
    label: manifest.label,
    ...(previous ? { previous } : {}),
  };
}
