import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { annotateBackup } from "../backup/annotate-backup.js";
import { readCatalogOf } from "../backup/catalog-read.js";
import { EXTENSIONS_FILE, VIEWS_FILE } from "../backup/companions.js";
import { locateBackup, recordableId } from "../backup/locate.js";
import { type Manifest, readManifest, type StageResult } from "../backup/manifest.js";
import { runPgProcess } from "../backup/pg-process.js";
import { findPgTools, type PgTools } from "../backup/pgtools.js";
import { markInUse } from "../backup/restore-lock.js";
import { DUMP_FILE, SCHEMA_FILE, verifyDumped } from "../backup/verify.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import type { RestoreTestRecord } from "../state/annotations.js";
import { appendDrill } from "../state/drill-log.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { rolesInSchema, SUPABASE_ROLES } from "./archive-roles.js";
import { compareRestore, type ParityRow, parsePgArray, parseTsv } from "./parity.js";
import { missingExtensions, parseRestoreErrors } from "./restore-errors.js";
import { type ScratchServer, startScratchServer } from "./scratch-server.js";

export type RestoreStep = "server" | "roles" | "restore" | "compare";

export type RestoreEvent =
  | { type: "started"; id: string; serverMajor: number }
  | { type: "step"; step: RestoreStep; status: "started" | "finished"; ms?: number; detail?: string };

export interface RestoreTestRequest {
  config: Config;
  ref: string;
  env?: string | undefined;
  requestedBy: string;
  cwd: string;
  /** Leave the scratch server running and hand it back (the caller stops it). */
  keepServer?: boolean;
  signal?: AbortSignal | undefined;
  onEvent?: (event: RestoreEvent) => void;
}

export interface RestoreTestOutcome {
  ok: boolean;
  id: string;
  dir: string;
  env: string;
  ms: number;
  serverMajor: number;
  parity: ParityRow[];
  /** False for a folder outside the backups folder (a copy): tested, but nothing recorded for the id. */
  recorded: boolean;
  /** Only with keepServer: the scratch server, still running. */
  server?: ScratchServer;
}

const DATABASE = "restore_test";

async function createRoles(url: string, roles: string[]): Promise<void> {
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

/**
 * Stage 3 `restored`: restore the archive into a disposable Postgres of the dump's major and
 * compare it with what the manifest recorded at dump time. The result goes into the manifest and
 * the drill log, pass or fail.
 */
export async function runRestoreTest(request: RestoreTestRequest): Promise<RestoreTestOutcome> {
  const emit = request.onEvent ?? (() => {});
  const root = request.config.backupsDir;
  const state = stateFor(request.config);
  const located = await locateBackup(root, state, request.ref, request.cwd, request.env);
  const { dir } = located;
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    throw new DbBackupError(
      "bad_manifest",
      `${dir} has no readable manifest.json: ${error instanceof Error ? error.message : String(error)}`,
      "Only a complete dbbackup backup can be restore-tested; take a new one.",
    );
  }
  if (manifest.verification.stage === null) {
    throw new DbBackupError("not_verified", `${manifest.id} never passed stage 2.`, "Take a new backup.");
  }
  const started = performance.now();
  const recordAs = recordableId(located, manifest.id);
  state.holdLease("restore test");
  const inUse = recordAs ? await markInUse(state, root, recordAs, request.requestedBy) : undefined;
  const step = async <T>(
    name: RestoreStep,
    fn: () => Promise<T>,
    detail?: (value: T) => string,
  ): Promise<T> => {
    emit({ type: "step", step: name, status: "started" });
    const t0 = performance.now();
    const value = await fn();
    emit({
      type: "step",
      step: name,
      status: "finished",
      ms: Math.round(performance.now() - t0),
      ...(detail ? { detail: detail(value) } : {}),
    });
    return value;
  };
  let server: ScratchServer | undefined;
  try {
    emit({ type: "started", id: manifest.id, serverMajor: manifest.server.major });
    // A pg_restore at least as new as the pg_dump that wrote the archive.
    const tools = await findPgTools(manifest.client.major, manifest.client.version, request.config.pgBinDir);
    // Stage 1 again, beside the server's start: the files must still be the ones the manifest hashed.
    const filesCheck = verifyDumped(
      dir,
      manifest.files.map((f) => f.name),
      manifest.files,
    );
    filesCheck.catch(() => {}); // awaited below
    server = await step(
      "server",
      () => startScratchServer({ major: manifest.server.major, owner: state }),
      (s) => `Postgres ${s.major} on 127.0.0.1:${s.port}`,
    );
    const stage1 = await filesCheck;
    // Artifacts that changed since the backup was taken: that is the finding, before any restore.
    const parity =
      filesChanged(stage1.result) ??
      (await restoreAndCompare(server, tools, dir, manifest, request, step, state));
    const ok = parity.every((row) => row.result !== "failed");
    const dumpSha256 = stage1.result.ok ? stage1.files.find((f) => f.name === DUMP_FILE)?.sha256 : undefined;
    const ms = Math.round(performance.now() - started);
    const at = new Date().toISOString();
    if (recordAs)
      await record(state, root, recordAs, {
        at,
        by: request.requestedBy,
        ok,
        ms,
        serverMajor: manifest.server.major,
        parity,
      });
    await appendDrill(state, {
      at,
      by: request.requestedBy,
      backupId: manifest.id,
      env: manifest.env,
      ok,
      ms,
      serverMajor: manifest.server.major,
      summary: summarize(parity),
      dir,
      ...(dumpSha256 ? { dumpSha256 } : {}),
      ofBackup: recordAs !== undefined,
    });
    const outcome: RestoreTestOutcome = {
      ok,
      id: manifest.id,
      dir,
      env: manifest.env,
      ms,
      serverMajor: manifest.server.major,
      parity,
      recorded: recordAs !== undefined,
    };
    if (request.keepServer) {
      outcome.server = server;
      server = undefined;
    }
    return outcome;
  } finally {
    await inUse?.release();
    await server?.stop();
  }
}

type Step = <T>(name: RestoreStep, fn: () => Promise<T>, detail?: (value: T) => string) => Promise<T>;

/** The artifacts whose sha256 no longer matches the manifest, as failed parity rows; undefined when none. */
function filesChanged(stage1: StageResult): ParityRow[] | undefined {
  const bad = stage1.checks.filter((c) => !c.ok);
  if (bad.length === 0) return undefined;
  return bad.map((c) => ({
    kind: "file" as const,
    name: c.name,
    expected: "as recorded when the backup was taken",
    actual: c.detail,
    result: "failed" as const,
    note: "the files changed since the backup was taken; nothing was restored",
  }));
}

/** Restores the archive into the scratch server and compares it with the manifest. */
async function restoreAndCompare(
  server: ScratchServer,
  tools: PgTools,
  dir: string,
  manifest: Manifest,
  request: RestoreTestRequest,
  step: Step,
  state: StateStore,
): Promise<ParityRow[]> {
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
  const restore = await step("restore", () =>
    runPgProcess(
      tools.pgRestore,
      [
        "--no-owner",
        "--no-privileges",
        `--jobs=${Math.max(1, os.availableParallelism())}`,
        `--dbname=${url}`,
        path.join(dir, DUMP_FILE),
      ],
      { env: { PGSERVICEFILE: "/dev/null" }, signal: request.signal, owner: state },
    ),
  );
  if (!restore.ok && (restore.cancelled || request.signal?.aborted)) {
    throw new DbBackupError(
      "cancelled",
      "The restore test was cancelled.",
      "Nothing was recorded; run it again.",
    );
  }
  if (!restore.ok && restore.signal) {
    throw new DbBackupError(
      "restore_killed",
      `pg_restore was killed (${restore.signal}).`,
      "Run the restore test again; check memory limits if it repeats.",
    );
  }
  const errors = parseRestoreErrors(restore.ok ? "" : restore.stderr);
  const parity = await step("compare", async () => {
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
    });
  });
  return parity;
}

export function summarize(parity: ParityRow[]): string {
  const count = (r: ParityRow["result"]) => parity.filter((p) => p.result === r).length;
  return `${count("ok")} matched, ${count("expected")} expected differences, ${count("failed")} failed`;
}

/** The result, in the state: never written into the backup's folder, which stays as it was filed. */
async function record(state: StateStore, root: string, id: string, result: RestoreTestRecord): Promise<void> {
  await annotateBackup(state, root, id, "while it was restore-tested", (current) => ({
    next: { ...current, restoreTest: result },
    result: undefined,
  }));
}
