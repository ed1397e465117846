import { sameDatabase } from "../backup/database-identity.js";
import type { Manifest } from "../backup/manifest.js";
import { DbBackupError } from "../errors.js";
import type { ShippedOverlap } from "./shipped-overlap.js";
import type { TargetInventory } from "./target-inventory.js";

export interface RestoreChoices {
  inPlace: boolean;
  /** The target database's name, typed again (terminal, in place). */
  confirm?: string | undefined;
  createRoles: boolean;
  /** From the terminal, in place needs --confirm; Slack's approval stands for it there. */
  needsConfirm: boolean;
}

/** What a restore will do, decided before anything is touched. Pure. */
export interface RestorePlan {
  id: string;
  target: { database: string; serverVersion: string; display: string };
  inPlace: boolean;
  /** The target is the database the backup was taken from. */
  overSource: boolean;
  /** The user's objects already in the target (up to 200). */
  existing: string[];
  /** Roles the dump refers to that the target lacks: created NOLOGIN with --create-roles. */
  missingRoles: string[];
  /** Extensions the backup had that the target can't create: their objects won't restore. */
  missingExtensions: string[];
  /** A Supabase project's own objects and rows the archive also holds: left as the project's. */
  platform: PlatformOverlap;
}

export type PlatformOverlap = Pick<ShippedOverlap, "kept" | "keptRows" | "rowsIntoExisting">;

const NO_OVERLAP: PlatformOverlap = { kept: [], keptRows: [], rowsIntoExisting: [] };

const listed = (items: readonly string[], max = 10) =>
  `${items.slice(0, max).join(", ")}${items.length > max ? ` and ${items.length - max} more` : ""}`;

/** Decides, or refuses with what was found and what to do. */
export function planRestore(
  manifest: Manifest,
  dumpRoles: readonly string[],
  backupExtensions: readonly string[],
  target: TargetInventory & { display: string },
  choices: RestoreChoices,
  platform: PlatformOverlap = NO_OVERLAP,
): RestorePlan {
  const db = target.identity.database;
  if (target.serverMajor < manifest.server.major)
    throw new DbBackupError(
      "restore_target_too_old",
      `The target runs Postgres ${target.serverVersion}, older than the backup's server (${manifest.server.version.split(" ")[1] ?? manifest.server.major}): pg_restore can't go back a major.`,
      `Restore into Postgres ${manifest.server.major} or newer.`,
    );
  const overSource = manifest.identity !== undefined && sameDatabase(manifest.identity, target.identity);
  if (overSource && !choices.inPlace)
    throw new DbBackupError(
      "restore_over_source",
      `${target.display} is the database backup ${manifest.id} was taken from.`,
      `Restoring over it replaces what is there now. Preferred: restore into a fresh database (--to-url). In an emergency: --in-place --confirm ${db}, after coordinating downtime.`,
    );
  if (target.userObjects.length > 0 && !choices.inPlace)
    throw new DbBackupError(
      "restore_target_not_empty",
      `${target.display} is not empty: ${listed(target.userObjects)}.`,
      `Restore into a fresh database, or replace what is there with --in-place --confirm ${db} (a safety backup of it is taken first).`,
    );
  if (choices.inPlace && choices.needsConfirm && choices.confirm !== db)
    throw new DbBackupError(
      "restore_unconfirmed",
      choices.confirm === undefined
        ? `An in-place restore replaces ${db} at ${target.display}; type its name to confirm.`
        : `--confirm ${choices.confirm} doesn't name the target database, which is ${db}.`,
      `Add --confirm ${db}.`,
    );
  const have = new Set(target.roles);
  const missingRoles = dumpRoles.filter((r) => !have.has(r));
  if (missingRoles.length > 0 && !choices.createRoles)
    throw new DbBackupError(
      "restore_roles_missing",
      `The backup refers to roles the target lacks: ${listed(missingRoles, 20)}.`,
      "Add --create-roles to create them (NOLOGIN, no passwords), or create them yourself first.",
    );
  if (platform.rowsIntoExisting.length > 0 && !target.canPauseTriggers)
    throw new DbBackupError(
      "restore_cannot_pause_triggers",
      `Rows of ${listed(platform.rowsIntoExisting)} go into tables ${target.display} already has (the project's own); their triggers and foreign keys must be paused while the rows load (session_replication_role = replica), and this login may not do that.`,
      "Connect as the project's postgres user (Supabase lets it), or a superuser; on Postgres 15+ a superuser can allow it: GRANT SET ON PARAMETER session_replication_role TO <user>.",
    );
  const available = new Set(target.availableExtensions);
  return {
    id: manifest.id,
    target: { database: db, serverVersion: target.serverVersion, display: target.display },
    inPlace: choices.inPlace,
    overSource,
    existing: target.userObjects,
    missingRoles,
    missingExtensions: backupExtensions.filter((e) => !available.has(e)),
    platform,
  };
}
