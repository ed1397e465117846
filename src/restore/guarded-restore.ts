import { readFileSync } from "node:fs";
import path from "node:path";
import { EXTENSIONS_FILE } from "../backup/companions.js";
import { childConnection } from "../backup/connection.js";
import { locateBackup } from "../backup/locate.js";
import { findPgTools } from "../backup/pgtools.js";
import { markInUse } from "../backup/restore-lock.js";
import { resolveTarget, type Target } from "../backup/target.js";
import { DUMP_FILE, SCHEMA_FILE } from "../backup/verify.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import { tryLock } from "../state/locks.js";
import { stateFor } from "../state/open.js";
import { rolesInSchema } from "./archive-roles.js";
import type { ComparedKind, ParityRow } from "./parity.js";
import { parseTsv } from "./parity.js";
import { runPgRestore } from "./pg-restore.js";
import { compareWithBackup, createRoles } from "./restore-compare.js";
import type { RestoreError } from "./restore-errors.js";
import { planRestore, type RestorePlan } from "./restore-plan.js";
import { inspectTarget } from "./target-inventory.js";
import { type ArchiveOverlap, archiveOverlap, withUseList } from "./use-list.js";
import { readVerifiedManifest } from "./verified-manifest.js";

export interface RestoreRequest {
  config: Config;
  ref: string;
  /** A configured env, or a URL (exactly one). */
  to: { env?: string | undefined; url?: string | undefined };
  inPlace: boolean;
  confirm?: string | undefined;
  createRoles: boolean;
  dryRun: boolean;
  /** From the terminal: in place needs --confirm. */
  needsConfirm: boolean;
  jobs?: number | undefined;
  requestedBy: string;
  cwd: string;
  signal?: AbortSignal | undefined;
  /** Before an in-place restore: a verified, pinned backup of the target, or a refusal. */
  safetyBackup?: (target: Target) => Promise<{ id: string; command: string }>;
  onProgress?: (p: { tablesDone: number; tablesTotal: number; elapsedMs: number }) => void;
}

export interface RestoreOutcome {
  plan: RestorePlan;
  dryRun: boolean;
  ok: boolean;
  parity: ParityRow[];
  /** Which kinds of object were compared; empty on a dry run. */
  compared: ComparedKind[];
  ms: number;
  safety?: { id: string; command: string };
}

/**
 * The runbook's restore as one guarded step: the target identified and compared with the backup's
 * source, refused when it would land on the wrong database, a safety backup under an in-place
 * restore, pg_restore with the runbook's flags, and the parity report after.
 */
export async function runRestore(request: RestoreRequest): Promise<RestoreOutcome> {
  const { config } = request;
  const state = stateFor(config);
  const located = await locateBackup(config.backupsDir, state, request.ref, request.cwd);
  const manifest = await readVerifiedManifest(located.dir);
  const target = resolveTarget(config, request.to);
  // The target's look and the pg tools' (each a few round trips or process starts) at once.
  const [inventory, tools] = await Promise.all([
    inspectTarget(target),
    findPgTools(manifest.client.major, manifest.client.version, config.pgBinDir),
  ]);
  const schemaSql = readFileSync(path.join(located.dir, SCHEMA_FILE), "utf8");
  // Only the roles the dump names: a target that lacks one would fail those statements.
  const roles = rolesInSchema(schemaSql).sort();
  const extensions = parseTsv(readFileSync(path.join(located.dir, EXTENSIONS_FILE), "utf8")).map(
    ([n = ""]) => n,
  );
  // In place, --clean replaces what is there; into another database, a platform's own objects stay
  // (a target without any, a plain new database, needs no look at the archive's contents).
  const overlap =
    request.inPlace || inventory.shipped.keys.size === 0
      ? undefined
      : await archiveOverlap(tools.pgRestore, located.dir, inventory, state);
  const inv = { ...inventory, display: target.display };
  const plan = planRestore(manifest, roles, extensions, inv, request, overlap);
  if (request.dryRun) return { plan, dryRun: true, ok: true, parity: [], compared: [], ms: 0 };

  const started = performance.now();
  const reading = await markInUse(state, config.backupsDir, manifest.id, request.requestedBy);
  const lock = await targetLock(state, target, request.requestedBy);
  try {
    const safety = plan.inPlace ? await takeSafetyBackup(request, target) : undefined;
    if (plan.missingRoles.length > 0) await createRoles(target.url.href, plan.missingRoles);
    const run = { request, pgRestoreBin: tools.pgRestore, dir: located.dir, target, plan, safety, overlap };
    const errors = await pgRestore(run, manifest.catalog.tables.length);
    const parity = await compareWithBackup(target.url.href, located.dir, manifest, errors, {
      rows: plan.platform.keptRows,
      sequences: overlap?.keptSequences ?? [],
    });
    return {
      plan,
      dryRun: false,
      ok: parity.rows.every((row) => row.result !== "failed"),
      parity: parity.rows,
      compared: parity.compared,
      ms: Math.round(performance.now() - started),
      ...(safety ? { safety } : {}),
    };
  } finally {
    await lock.release();
    await reading.release();
  }
}

async function takeSafetyBackup(request: RestoreRequest, target: Target) {
  if (!request.safetyBackup)
    throw new DbBackupError(
      "internal_error",
      "An in-place restore was asked for without a safety backup.",
      "This is a bug.",
    );
  return request.safetyBackup(target);
}

/** One restore per target at a time (two would interleave their DROPs and COPYs). */
async function targetLock(state: ReturnType<typeof stateFor>, target: Target, requestedBy: string) {
  const key = `restore-target:${target.host}:${target.port}/${target.database}`;
  const attempt = await tryLock(state, {
    name: key,
    jobId: key,
    requestedBy,
    what: `restore into ${target.display}`,
  });
  if ("held" in attempt) return attempt.held;
  throw new DbBackupError(
    "job_running",
    `A restore into ${target.display} is already running (${attempt.holder.requestedBy} started it at ${attempt.holder.startedAt}).`,
    "Wait for it to finish; two restores into one database would undo each other.",
  );
}

interface PgRestoreStep {
  request: RestoreRequest;
  pgRestoreBin: string;
  dir: string;
  target: Target;
  plan: RestorePlan;
  safety: { id: string; command: string } | undefined;
  overlap: ArchiveOverlap | undefined;
}

async function pgRestore(step: PgRestoreStep, tablesTotal: number) {
  const { request, plan, safety } = step;
  const conn = childConnection(step.target);
  const started = performance.now();
  const end = await withUseList(step.overlap, (useList) =>
    runPgRestore({
      pgRestore: step.pgRestoreBin,
      dump: path.join(step.dir, DUMP_FILE),
      conninfo: conn.conninfo,
      env: conn.env,
      clean: plan.inPlace,
      useList,
      pauseTriggers: plan.platform.rowsIntoExisting.length > 0,
      jobs: request.jobs,
      signal: request.signal,
      owner: stateFor(request.config),
      onTables: (tablesDone) =>
        request.onProgress?.({ tablesDone, tablesTotal, elapsedMs: performance.now() - started }),
    }),
  );
  const putBack = safety ? `Put it back with the safety backup: ${safety.command}` : undefined;
  if (end.stopped === "cancelled")
    throw new DbBackupError(
      "cancelled",
      `The restore into ${plan.target.display} was cancelled: the target is partly restored.`,
      putBack ?? "Drop and recreate that database before using it, or restore again.",
    );
  if (end.stopped === "killed")
    throw new DbBackupError(
      "restore_killed",
      `pg_restore was killed (${end.signal}); ${plan.target.display} is partly restored.`,
      putBack ?? "Restore again into a fresh database.",
    );
  return plan.inPlace ? end.errors.map(cleanPhase) : end.errors;
}
/**
 * --clean drops a partition's primary key before its parent's, which Postgres refuses for an
 * inherited constraint; dropping the parent table right after removes it anyway. Harmless, and said so.
 */
function cleanPhase(error: RestoreError): RestoreError {
  if (error.expected || !/cannot drop inherited constraint/.test(error.message)) return error;
  if (!/^ALTER TABLE IF EXISTS ONLY .* DROP CONSTRAINT IF EXISTS/.test(error.command ?? "")) return error;
  return {
    ...error,
    expected: "--clean drops a partition's inherited key before its parent's; the parent's drop removes it",
  };
}
