import { rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import type { SnapshotSession } from "./catalog-snapshot.js";
import type { ChildConnection } from "./connection.js";
import { DumpLimitError, explainChildFailure } from "./dump-errors.js";
import type { BackupListener, BackupStep } from "./events.js";
import { describeProblems, grantStatements, schemaProblems } from "./grants.js";
import { runPgProcess } from "./pg-process.js";
import type { PgTools } from "./pgtools.js";
import type { BackupRequest } from "./pipeline.js";
import type { RunLog } from "./run-log.js";
import type { Target } from "./target.js";
import { useList } from "./toc.js";
import { type ArchiveList, DUMP_FILE, PG_RESTORE_ENV, SCHEMA_FILE } from "./verify.js";

/** The pipeline's steps that write the archive and schema.sql, each timed, logged and told to the listener. */

export interface WorkContext {
  request: BackupRequest;
  target: Target;
  id: string;
  dir: string;
  log: RunLog;
  emit: BackupListener;
  started: Date;
  /** performance.now() when the request began. */
  wallStart: number;
  /** Names an object of the catalog by OID, through the run's own session (set once connected). */
  describe?: (catalog: string, oid: number) => Promise<string | undefined>;
  label: string | undefined;
  store: StateStore;
  jobId: string;
  leaseLost: AbortController;
}

export async function timed<T>(
  ctx: WorkContext,
  step: BackupStep,
  fn: () => Promise<T>,
  durations: Record<string, number>,
) {
  ctx.emit({ type: "step", step, status: "started" });
  ctx.log.line(`step ${step} started`);
  const t0 = performance.now();
  const value = await fn();
  const ms = Math.round(performance.now() - t0);
  durations[step] = ms;
  ctx.emit({ type: "step", step, status: "finished", ms });
  ctx.log.line(`step ${step} finished in ${ms} ms`);
  return value;
}

/**
 * Before dumping anything: everything pg_dump must read, this role may read. Otherwise pg_dump would
 * stop at the first table it may not lock, naming only that one; this names them all, with the
 * GRANTs that fix them.
 */
export async function refuseUnreadable(session: SnapshotSession): Promise<void> {
  const { role, relations } = await session.readability();
  const problems = schemaProblems(relations);
  if (problems.length === 0) return;
  throw new DbBackupError(
    "permission_denied",
    `${role} may not read ${describeProblems(problems)}, so pg_dump would stop there; nothing was dumped.`,
    `Back up as the database owner (Supabase: the postgres user), or have the owner run: ${grantStatements(role, problems).join(" ")}`,
  );
}

export interface DumpProgress {
  /** Tables with data of their own (partitions, not their parents): what pg_dump --verbose counts. */
  tablesTotal: number | undefined;
  /** "public.orders" → ms pg_dump spent on its rows (from --verbose), to share out stage 2's reading. */
  tableMs: Map<string, number>;
}

const VERBOSE_TABLE = /dumping contents of table "?([^"]+)"?/;

function pgDumpCommon(ctx: WorkContext, conn: ChildConnection, session: SnapshotSession): string[] {
  return [
    `--dbname=${conn.conninfo}`,
    `--snapshot=${session.snapshotId}`,
    `--lock-wait-timeout=${ctx.request.config.lockWaitTimeoutSeconds * 1000}`,
  ];
}

async function failed(
  ctx: WorkContext,
  result: Awaited<ReturnType<typeof runPgProcess>>,
  abort: AbortController,
): Promise<void> {
  if (result.ok) return;
  abort.abort();
  const cancelled = ctx.request.signal?.aborted === true;
  const error = explainChildFailure(
    { ...result, cancelled: cancelled || result.cancelled },
    ctx.target,
    ctx.dir,
  );
  if (error instanceof DumpLimitError && error.oid !== undefined && error.catalog && ctx.describe) {
    const name = await ctx.describe(error.catalog, error.oid).catch(() => undefined);
    if (name) throw error.naming(name);
  }
  throw error;
}

export async function dumpFull(
  ctx: WorkContext,
  tools: PgTools,
  conn: ChildConnection,
  session: SnapshotSession,
  compressArgs: string[],
  abort: AbortController,
  progress: DumpProgress,
): Promise<void> {
  const { dir, log, emit } = ctx;
  const dumpFile = path.join(dir, DUMP_FILE);
  let tablesDone = 0;
  const dumpStarted = performance.now();
  // A table's time runs from its "dumping contents" line to the next one (or the dump's end).
  let current: { table: string; since: number } | undefined;
  const tableDone = (now: number) => {
    if (current) progress.tableMs.set(current.table, now - current.since);
  };
  const poll = setInterval(() => {
    stat(dumpFile).then(
      (s) => emit({ type: "bytes", bytes: s.size, elapsedMs: Math.round(performance.now() - dumpStarted) }),
      () => {},
    );
  }, 1000);
  poll.unref();
  try {
    const result = await runPgProcess(
      tools.pgDump,
      [
        "--format=custom",
        ...compressArgs,
        "--verbose",
        `--file=${dumpFile}`,
        ...pgDumpCommon(ctx, conn, session),
      ],
      {
        env: conn.env,
        signal: abort.signal,
        owner: ctx.store,
        onStderrLine(line) {
          log.line(`pg_dump: ${line.replace(/^pg_dump: /, "")}`);
          const m = VERBOSE_TABLE.exec(line);
          if (m?.[1]) {
            const now = performance.now();
            tableDone(now);
            current = { table: m[1], since: now };
            tablesDone += 1;
            emit({ type: "tables", done: tablesDone, total: progress.tablesTotal, table: m[1] });
          }
        },
      },
    );
    tableDone(performance.now());
    await failed(ctx, result, abort);
  } finally {
    clearInterval(poll);
  }
  const final = await stat(dumpFile).catch(() => undefined);
  if (final)
    emit({ type: "bytes", bytes: final.size, elapsedMs: Math.round(performance.now() - dumpStarted) });
}

/** What `pg_dump --schema-only` leaves out of a full archive's schema: the refresh of each materialized view. */
const NOT_IN_SCHEMA_ONLY = new Set(["MATERIALIZED VIEW DATA"]);

/**
 * schema.sql, written from the archive's TOC by `pg_restore --schema-only`: the same text a second
 * `pg_dump --schema-only` of the snapshot would write (that is how pg_dump writes plain SQL), for a
 * tenth of its time and no second read of the server's catalog. Nothing is written when the archive
 * can't be listed: stage 1 then finds schema.sql missing and stage 2 says why.
 */
export async function schemaFromArchive(
  ctx: WorkContext,
  tools: PgTools,
  listed: ArchiveList,
  abort: AbortController,
): Promise<void> {
  if (!listed.ok) return;
  const skip = new Set(listed.toc.entries.filter((e) => NOT_IN_SCHEMA_ONLY.has(e.desc)).map((e) => e.dumpId));
  // In the run's own folder: removed with it if the run fails, never shared with another run.
  const listFile = path.join(ctx.dir, ".schema-use.list");
  await writeFile(listFile, useList(listed.stdout, skip));
  try {
    const result = await runPgProcess(
      tools.pgRestore,
      [
        "--schema-only",
        `--use-list=${listFile}`,
        `--file=${path.join(ctx.dir, SCHEMA_FILE)}`,
        path.join(ctx.dir, DUMP_FILE),
      ],
      {
        env: PG_RESTORE_ENV,
        signal: abort.signal,
        owner: ctx.store,
        onStderrLine: (line) => ctx.log.line(`pg_restore -s: ${line}`),
      },
    );
    await failed(ctx, result, abort);
  } finally {
    await rm(listFile, { force: true });
  }
}
