import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { readCatalogOf } from "../backup/catalog-read.js";
import { EXTENSIONS_FILE, VIEWS_FILE } from "../backup/companions.js";
import type { Manifest } from "../backup/manifest.js";
import type { PgTools } from "../backup/pgtools.js";
import { DUMP_FILE, PG_RESTORE_ENV, SCHEMA_FILE } from "../backup/verify.js";
import { DbBackupError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import { rolesInSchema, SUPABASE_ROLES } from "./archive-roles.js";
import { compareRestore, type Parity, parsePgArray, parseTsv } from "./parity.js";
import { runPgRestore } from "./pg-restore.js";
import { missingExtensions, type RestoreError } from "./restore-errors.js";
import type { ScratchServer } from "./scratch-server.js";

/**
 * The restore test's work on the scratch server: create the database and roles, pg_restore the
 * archive, and compare what arrived with what the manifest recorded.
 */

export type RestoreStep = "server" | "roles" | "restore" | "compare";

/** Runs one step of the test, reporting its start and finish (with `detail` of its value). */
export type Step = <T>(name: RestoreStep, fn: () => Promise<T>, detail?: (value: T) => string) => Promise<T>;

const DATABASE = "restore_test";

export async function createRoles(url: string, roles: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const role of roles) {
      const exists = await client.query("select 1 from pg_roles where rolname = $1", [role]);
      if (exists.rowCount === 0) await client.query(`create role "${role.replace(/"/g, '""')}" nologin`);
    }
  } finally {
    await client.end();
  }
}

/** pg_restore into `url`: a cancelled or killed run throws; otherwise its errors, parsed. */
async function restoreArchive(
  tools: PgTools,
  dir: string,
  url: string,
  signal: AbortSignal | undefined,
  step: Step,
  state: StateStore,
): Promise<RestoreError[]> {
  const end = await step("restore", () =>
    runPgRestore({
      pgRestore: tools.pgRestore,
      dump: path.join(dir, DUMP_FILE),
      // The scratch server trusts local connections: its URL carries no password.
      conninfo: url,
      env: PG_RESTORE_ENV,
      signal,
      owner: state,
    }),
  );
  if (end.stopped === "cancelled") {
    throw new DbBackupError(
      "cancelled",
      "The restore test was cancelled.",
      "Nothing was recorded; run it again.",
    );
  }
  if (end.stopped === "killed") {
    throw new DbBackupError(
      "restore_killed",
      `pg_restore was killed (${end.signal}).`,
      "Run the restore test again; check memory limits if it repeats.",
    );
  }
  return end.errors;
}

/** The restored database against the manifest and the backup's views and extensions files. */
export async function compareWithBackup(
  url: string,
  dir: string,
  manifest: Manifest,
  errors: RestoreError[],
  /** Tables whose rows, and sequences whose values, were left as the target's own (a Supabase project's). */
  kept: { rows: readonly string[]; sequences: readonly string[] } = { rows: [], sequences: [] },
): Promise<Parity> {
  const restored = await readCatalogOf(url);
  const views = parseTsv(readFileSync(path.join(dir, VIEWS_FILE), "utf8")).map(
    ([schema = "", name = "", rel = "{}"]) => ({
      schema,
      name,
      reloptions: parsePgArray(rel),
    }),
  );
  const extensions = parseTsv(readFileSync(path.join(dir, EXTENSIONS_FILE), "utf8")).map(
    ([name = ""]) => name,
  );
  return compareRestore({
    tables: manifest.catalog.tables,
    views,
    extensions,
    policies: manifest.catalog.counts.policies,
    errors,
    restored,
    missingExtensions: missingExtensions(errors),
    keptRows: new Set(kept.rows),
    keptSequences: new Set(kept.sequences),
    sequences: manifest.catalog.sequences,
    objects: manifest.catalog.objects,
  });
}

/** Restores the archive into the scratch server and compares it with the manifest. */
export async function restoreAndCompare(
  server: ScratchServer,
  tools: PgTools,
  dir: string,
  manifest: Manifest,
  signal: AbortSignal | undefined,
  step: Step,
  state: StateStore,
): Promise<Parity> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = server.url(DATABASE);
  const schemaSql = readFileSync(path.join(dir, SCHEMA_FILE), "utf8");
  const roles = [...new Set([...SUPABASE_ROLES, ...rolesInSchema(schemaSql)])].sort();
  await step(
    "roles",
    () => createRoles(url, roles),
    () => `${roles.length} roles: ${roles.join(", ")}`,
  );
  const errors = await restoreArchive(tools, dir, url, signal, step, state);
  return await step("compare", () => compareWithBackup(url, dir, manifest, errors));
}
