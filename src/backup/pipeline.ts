import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config.js";
import { DbBackupError, isDbBackupError } from "../errors.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { TOOL_VERSION } from "../version.js";
import {
  type CatalogSnapshot,
  openSnapshotSession,
  type SnapshotSession,
  securityInvokerTrue,
} from "./catalog-snapshot.js";
import { EXTENSIONS_FILE, VERSION_FILE, VIEWS_FILE, writeCompanions } from "./companions.js";
import { compressionArgs, defaultCompression } from "./compression.js";
import { type ChildConnection, childConnection } from "./connection.js";
import { DumpLimitError, explainChildFailure } from "./dump-errors.js";
import { acquireEnvLock } from "./env-lock.js";
import type { BackupListener, BackupStep } from "./events.js";
import { describeProblems, grantStatements, schemaProblems } from "./grants.js";
import { backupId, checkLabel } from "./ids.js";
import { MANIFEST_SCHEMA, type Manifest, type StageResult, writeManifest } from "./manifest.js";
import { describeOrphanSessions, endOrphanRuns } from "./orphan-sessions.js";
import { runPgProcess } from "./pg-process.js";
import { findPgTools, type PgTools } from "./pgtools.js";
import { redactText } from "./redact.js";
import { resolveTarget, type Target } from "./target.js";
import { tocCounts } from "./toc.js";
import { DUMP_FILE, inOrder, SCHEMA_FILE, verifyDumped, verifyReadable } from "./verify.js";
import {
  cleanStaleInProgress,
  createInProgressDir,
  LOGS_DIR,
  logPath,
  releaseInProgressDir,
} from "./work-dirs.js";

export const ARTIFACTS = [DUMP_FILE, SCHEMA_FILE, VERSION_FILE, EXTENSIONS_FILE, VIEWS_FILE] as const;

export interface BackupRequest {
  config: Config;
  env?: string | undefined;
  url?: string | undefined;
  label?: string | undefined;
  requestedBy: string;
  /** The run's short id (the bot's job id); one is made when not given. Its sessions are dbbackup:<jobId>. */
  jobId?: string | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: BackupListener | undefined;
  now?: () => Date;
}

export interface BackupOutcome {
  id: string;
  dir: string;
  manifest: Manifest;
  target: Target;
}

/** A failed run's error, with where its log is. */
export class BackupFailedError extends DbBackupError {
  readonly logFile: string;
  constructor(cause: DbBackupError, logFile: string) {
    super(cause.code, cause.message, cause.hint, { cause });
    this.logFile = logFile;
  }
}

function serverVersionShort(num: number): string {
  const major = Math.floor(num / 10_000);
  return major >= 10 ? `${major}.${num % 10_000}` : `${major}.${Math.floor(num / 100) % 100}.${num % 100}`;
}

/** Synchronous appends: a run killed with SIGKILL still leaves every line it reached. */
class RunLog {
  private fd: number | undefined;
  constructor(
    readonly file: string,
    private readonly secrets: string[],
  ) {
    try {
      this.fd = openSync(file, "a", 0o600);
    } catch {
      this.fd = undefined; // no log is better than no backup error message
    }
  }
  line(text: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, `${new Date().toISOString()} ${redactText(text, this.secrets)}\n`);
    } catch {
      // a full disk must not turn a clear error into a crash
    }
  }
  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function pickId(root: string, when: Date, env: string, label: string | undefined): string {
  // Two runs within one second get ids one second apart, so ids stay unique and time-ordered.
  for (let i = 0; i < 120; i++) {
    const id = backupId(new Date(when.getTime() + i * 1000), env, label);
    if (!existsSync(path.join(root, id)) && !existsSync(path.join(root, `.inprogress-${id}`))) return id;
  }
  throw new DbBackupError(
    "id_taken",
    `No free backup id near ${when.toISOString()}.`,
    "Run again in a minute.",
  );
}

/** The runbook's pipeline: snapshot, dumps and companions at once, stages 1–2, then into place. */
export async function runBackup(request: BackupRequest): Promise<BackupOutcome> {
  const emit: BackupListener = request.onEvent ?? (() => {});
  const label = request.label !== undefined ? checkLabel(request.label) : undefined;
  const target = resolveTarget(request.config, { env: request.env, url: request.url });
  const root = request.config.backupsDir;
  mkdirSync(path.join(root, LOGS_DIR), { recursive: true });
  const started = (request.now ?? (() => new Date()))();
  // The time reported is the wall time of the whole request: waiting for a lock and connecting included.
  const wallStart = performance.now();
  const id = pickId(root, started, target.env, label);
  emit({
    type: "started",
    id,
    env: target.env,
    label: label ?? null,
    target: target.display,
    source: target.source,
  });
  for (const message of target.warnings) emit({ type: "warning", message });

  const store = stateFor(request.config);
  store.holdLease("backup");
  const jobId = request.jobId ?? randomBytes(4).toString("hex");
  // Cancelled or killed while waiting for a dead holder's lease: nothing of ours exists yet.
  const lock = await acquireEnvLock(
    store,
    { env: target.env, backupId: id, jobId, requestedBy: request.requestedBy },
    {
      ...(request.signal ? { signal: request.signal } : {}),
      onWait: ({ holder, liveness, expiresAt }) =>
        emit({
          type: "warning",
          message: `A ${target.env} backup (${holder.what}, pid ${holder.pid} on ${holder.host}) holds the ${target.env} lock but ${liveness.state === "silent" ? `hasn't renewed its lease for ${Math.round(liveness.silentMs / 1000)} s` : "can't be seen from here (another host or container)"}; waiting until ${expiresAt.slice(11, 19)} UTC: taken over then unless it renews.`,
        }),
    },
  );
  const log = new RunLog(logPath(root, id), [target.password]);
  let dir: string | undefined;
  // Our lease lapsed (the process stalled): another run may own the env now; stop, keep nothing.
  const leaseLost = new AbortController();
  const stopLeaseWatch = store.onLeaseLost(() => leaseLost.abort());
  try {
    if (request.signal?.aborted) {
      throw new DbBackupError(
        "cancelled",
        "The backup was cancelled.",
        "Nothing was kept; run it again when ready.",
      );
    }
    if (lock.tookOverFrom) {
      const gone = lock.tookOverFrom.record;
      emit({
        type: "warning",
        message: `Took over the ${target.env} lock of a run that died (${gone.what}, started by ${gone.requestedBy}; ${lock.tookOverFrom.why}).`,
      });
    }
    await endOrphans(store, target, emit, log);
    const stale = await cleanStaleInProgress(root, store);
    if (stale.removed.length > 0) emit({ type: "cleaned", paths: stale.removed });
    dir = createInProgressDir(root, id, store);
    log.line(`backup ${id} of ${target.display} (${target.source}) for ${request.requestedBy}, run ${jobId}`);
    const manifest = await work({
      request,
      target,
      id,
      dir,
      log,
      emit,
      started,
      wallStart,
      label,
      store,
      jobId,
      leaseLost,
    });
    if (leaseLost.signal.aborted) throw leaseLostError(target.env);
    const finalDir = path.join(root, id);
    releaseInProgressDir(dir);
    await rename(dir, finalDir);
    dir = undefined;
    log.line(`done: ${finalDir}`);
    return { id, dir: finalDir, manifest, target };
  } catch (error) {
    const clear = leaseLost.signal.aborted
      ? leaseLostError(target.env)
      : isDbBackupError(error)
        ? error
        : new DbBackupError(
            "internal_error",
            `dbbackup failed unexpectedly: ${redactText(error instanceof Error ? error.message : String(error), [target.password])}`,
            "This is a bug in dbbackup; the log has the details. Please report it.",
            { cause: error },
          );
    log.line(`FAILED [${clear.code}] ${clear.message} | ${clear.hint}`);
    if (error instanceof Error && !isDbBackupError(error) && error.stack) log.line(error.stack);
    if (dir) await rm(dir, { recursive: true, force: true });
    throw new BackupFailedError(clear, log.file);
  } finally {
    stopLeaseWatch();
    await log.close();
    await lock.release().catch(() => {});
  }
}

function leaseLostError(env: string): DbBackupError {
  return new DbBackupError(
    "lease_lost",
    `This run stalled past its lease, so another run may have taken over the ${env} lock; it stopped and kept nothing.`,
    "Run it again. If it repeats, the machine is overloaded or asleep (a laptop lid?); DBBACKUP_LEASE sets the lease.",
  );
}

/** Sessions a killed run of this env left on the server: ended now, so their locks stop blocking migrations. */
async function endOrphans(
  store: StateStore,
  target: Target,
  emit: BackupListener,
  log: RunLog,
): Promise<void> {
  let report: Awaited<ReturnType<typeof endOrphanRuns>>;
  try {
    report = await endOrphanRuns(store, target);
  } catch {
    return; // can't connect: the backup's own connect step says why, in full
  }
  for (const message of describeOrphanSessions(report)) {
    emit({ type: "warning", message });
    log.line(message);
  }
}

interface WorkContext {
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

async function timed<T>(
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

async function work(ctx: WorkContext): Promise<Manifest> {
  const { request, target, dir, log, emit } = ctx;
  const config = request.config;
  const durations: Record<string, number> = {};
  const warnings = [...target.warnings];

  const session = await timed(
    ctx,
    "connect",
    () =>
      openSnapshotSession(target, {
        lockWaitTimeoutSeconds: config.lockWaitTimeoutSeconds,
        exactCountMaxRows: config.exactCountMaxRows,
        jobId: ctx.jobId,
      }),
    durations,
  );
  ctx.describe = (catalog, oid) => session.describeObject(catalog, oid);
  let conn: ChildConnection | undefined;
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  request.signal?.addEventListener("abort", onOuterAbort);
  ctx.leaseLost.signal.addEventListener("abort", onOuterAbort);
  // Cancelled while connecting: the listener above would never fire for a signal already aborted.
  if (request.signal?.aborted || ctx.leaseLost.signal.aborted) abort.abort();
  try {
    log.line(`server: ${session.version}`);
    const tools = await findPgTools(
      session.serverMajor,
      serverVersionShort(session.serverVersionNum),
      config.pgBinDir,
    );
    for (const message of tools.warnings) {
      warnings.push(message);
      emit({ type: "warning", message });
    }
    log.line(`pg_dump ${tools.version}: ${tools.pgDump}`);
    const compression = config.compress ?? defaultCompression(tools.major);
    const compressArgs = compressionArgs(compression, tools.major);
    conn = childConnection(target, ctx.jobId);

    await refuseUnreadable(session);
    const progress: DumpProgress = { tablesTotal: await session.countDataTables() };
    // The full dump runs alone: it is the long pole, and on a small machine anything beside it
    // slows it down. Everything else reads the same snapshot afterwards, alongside stage 2's
    // full read of the archive, which leaves a core free for it.
    await timed(
      ctx,
      "dump",
      () => dumpFull(ctx, tools, conn!, session, compressArgs, abort, progress),
      durations,
    );
    const guard = <T>(promise: Promise<T>): Promise<T> =>
      promise.catch((error: unknown) => {
        abort.abort();
        throw error;
      });
    const [stage1, stage2, catalog] = await timed(
      ctx,
      "verify",
      async () => {
        const catalogRead = guard(timed(ctx, "catalog", () => session.readCatalog(), durations));
        const schema = guard(
          timed(ctx, "schema", () => dumpSchema(ctx, tools, conn!, session, abort), durations),
        );
        const companions = guard(catalogRead.then((c) => writeCompanions(dir, c, tools.version)));
        const readable = guard(
          verifyReadable(
            dir,
            tools.pgRestore,
            catalogRead.then((c) => c.counts),
            { signal: abort.signal, owner: ctx.store },
          ),
        );
        const dumped = guard(Promise.all([schema, companions]).then(() => verifyDumped(dir, [...ARTIFACTS])));
        const [s1, s2, c] = await Promise.all([dumped, readable, catalogRead, schema, companions]);
        await session.close();
        return [s1, s2, c] as const;
      },
      durations,
    );
    const stages: StageResult[] = inOrder([stage1.result, stage2.result]);
    for (const s of stages) {
      emit({ type: "stage", stage: s.stage, ok: s.ok, ms: s.ms });
      for (const c of s.checks) log.line(`stage ${s.stage} ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
    }
    if (request.signal?.aborted) {
      throw new DbBackupError(
        "cancelled",
        "The backup was cancelled.",
        "Nothing was kept; run it again when ready.",
      );
    }
    const failed = stages.find((s) => !s.ok);
    if (failed) {
      const bad = failed.checks.filter((c) => !c.ok).map((c) => `${c.name} ${c.detail}`);
      throw new DbBackupError(
        "verify_failed",
        `Verification stage ${failed.stage} failed: ${bad.join("; ")}.`,
        "The backup was not kept. If a count differs, the database changed in a way the snapshot did not cover (tell us); otherwise run again.",
      );
    }
    const finishedAt = new Date();
    durations.total = Math.round(performance.now() - ctx.wallStart);
    const manifest: Manifest = {
      schema: MANIFEST_SCHEMA,
      id: ctx.id,
      env: target.env,
      label: ctx.label ?? null,
      source: target.source,
      target: target.display,
      requestedBy: request.requestedBy,
      tool: { name: "dbbackup", version: TOOL_VERSION },
      startedAt: ctx.started.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationsMs: durations,
      server: { version: catalog.version, versionNum: catalog.serverVersionNum, major: catalog.serverMajor },
      client: { pgDump: tools.pgDump, version: tools.version, major: tools.major },
      compression,
      lockWaitTimeoutSeconds: config.lockWaitTimeoutSeconds,
      snapshot: true,
      files: stage1.files,
      totalBytes: stage1.files.reduce((sum, f) => sum + f.bytes, 0),
      catalog: catalogSection(catalog),
      toc: {
        entries: stage2.toc?.entries.length ?? 0,
        counts: stage2.toc ? tocCounts(stage2.toc) : { ...catalog.counts, tableData: 0 },
      },
      verification: { stage: "readable", stages },
      warnings,
    };
    await timed(ctx, "finalize", () => writeManifest(dir, manifest), durations);
    return manifest;
  } finally {
    request.signal?.removeEventListener("abort", onOuterAbort);
    ctx.leaseLost.signal.removeEventListener("abort", onOuterAbort);
    abort.abort();
    await session.close();
  }
}

/**
 * Before dumping anything: everything pg_dump must read, this role may read. Otherwise pg_dump would
 * stop at the first table it may not lock, naming only that one; this names them all, with the
 * GRANTs that fix them.
 */
async function refuseUnreadable(session: SnapshotSession): Promise<void> {
  const { role, relations } = await session.readability();
  const problems = schemaProblems(relations);
  if (problems.length === 0) return;
  throw new DbBackupError(
    "permission_denied",
    `${role} may not read ${describeProblems(problems)}, so pg_dump would stop there; nothing was dumped.`,
    `Back up as the database owner (Supabase: the postgres user), or have the owner run: ${grantStatements(role, problems).join(" ")}`,
  );
}

function catalogSection(catalog: CatalogSnapshot): Manifest["catalog"] {
  return {
    databaseBytes: catalog.databaseBytes,
    counts: catalog.counts,
    extensions: catalog.extensions,
    views: catalog.views.length,
    securityInvokerViews: catalog.views.filter(securityInvokerTrue).length,
    exposedViews: catalog.exposedViews,
    policiesByTable: catalog.policiesByTable,
    tables: catalog.tables,
  };
}

interface DumpProgress {
  /** Tables with data of their own (partitions, not their parents): what pg_dump --verbose counts. */
  tablesTotal: number | undefined;
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

async function dumpFull(
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
            tablesDone += 1;
            emit({ type: "tables", done: tablesDone, total: progress.tablesTotal, table: m[1] });
          }
        },
      },
    );
    await failed(ctx, result, abort);
  } finally {
    clearInterval(poll);
  }
  const final = await stat(dumpFile).catch(() => undefined);
  if (final)
    emit({ type: "bytes", bytes: final.size, elapsedMs: Math.round(performance.now() - dumpStarted) });
}

async function dumpSchema(
  ctx: WorkContext,
  tools: PgTools,
  conn: ChildConnection,
  session: SnapshotSession,
  abort: AbortController,
): Promise<void> {
  const result = await runPgProcess(
    tools.pgDump,
    ["--schema-only", `--file=${path.join(ctx.dir, SCHEMA_FILE)}`, ...pgDumpCommon(ctx, conn, session)],
    {
      env: conn.env,
      signal: abort.signal,
      owner: ctx.store,
      onStderrLine: (line) => ctx.log.line(`pg_dump -s: ${line}`),
    },
  );
  await failed(ctx, result, abort);
}
