import os from "node:os";
import { DbBackupError } from "../errors.js";
import { TOOL_VERSION } from "../version.js";
import { securityInvokerTrue } from "./catalog-read.js";
import { type CatalogSnapshot, openSnapshotSession, type SnapshotSession } from "./catalog-snapshot.js";
import { EXTENSIONS_FILE, VERSION_FILE, VIEWS_FILE, writeCompanions } from "./companions.js";
import { compressionArgs } from "./compression.js";
import { type CompressionChoice, chooseCompression, type Measured } from "./compression-choice.js";
import { sampleCompression } from "./compression-sample.js";
import { childConnection } from "./connection.js";
import {
  type DumpProgress,
  dumpFull,
  refuseUnreadable,
  schemaFromArchive,
  timed,
  type WorkContext,
} from "./dump-steps.js";
import { MANIFEST_SCHEMA, type Manifest, type StageResult, writeManifest } from "./manifest.js";
import { findPgTools, type PgTools } from "./pgtools.js";
import { tocCounts } from "./toc.js";
import {
  DUMP_FILE,
  inOrder,
  listArchive,
  SCHEMA_FILE,
  type Stage1Result,
  type Stage2Result,
  verifyDumped,
  verifyReadable,
} from "./verify.js";

/**
 * Inside a run, once it holds its env's lock and its folder: connect and export a snapshot, dump,
 * then stages 1 and 2 beside the rest of the artifacts, and the manifest.
 */

export const ARTIFACTS = [DUMP_FILE, SCHEMA_FILE, VERSION_FILE, EXTENSIONS_FILE, VIEWS_FILE] as const;

function serverVersionShort(num: number): string {
  const major = Math.floor(num / 10_000);
  return major >= 10 ? `${major}.${num % 10_000}` : `${major}.${Math.floor(num / 100) % 100}.${num % 100}`;
}

export async function work(ctx: WorkContext): Promise<Manifest> {
  const { request, target } = ctx;
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
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  request.signal?.addEventListener("abort", onOuterAbort);
  ctx.leaseLost.signal.addEventListener("abort", onOuterAbort);
  // Cancelled while connecting: the listener above would never fire for a signal already aborted.
  if (request.signal?.aborted || ctx.leaseLost.signal.aborted) abort.abort();
  try {
    return await dumpAndVerify({ ctx, session, abort, durations, warnings });
  } finally {
    request.signal?.removeEventListener("abort", onOuterAbort);
    ctx.leaseLost.signal.removeEventListener("abort", onOuterAbort);
    abort.abort();
    await session.close();
  }
}

/** One run once connected: its snapshot session, what stops its children, and what it records. */
interface Run {
  ctx: WorkContext;
  session: SnapshotSession;
  abort: AbortController;
  durations: Record<string, number>;
  warnings: string[];
}

/** Dump in the session's snapshot, verify stages 1 and 2, and write the manifest. */
async function dumpAndVerify(run: Run): Promise<Manifest> {
  const { ctx, session, abort, durations } = run;
  const config = ctx.request.config;
  ctx.log.line(`server: ${session.version}`);
  // The sample reads in the snapshot and compresses off the event loop while pg_dump is looked for.
  const sampled = sampleCompression(session, config.compress);
  const tools = await toolsFor(run);
  // A setting pg_dump can't take is refused before anything is read.
  if (config.compress !== undefined) compressionArgs(config.compress, tools.major);
  const conn = childConnection(ctx.target, ctx.jobId);

  // The session reads one thing at a time: the sample is done before the checks below ask it.
  const choice = chooseIn(run, tools, await sampled);
  await refuseUnreadable(session);
  const compressArgs = compressionArgs(choice.spec, tools.major);
  const progress: DumpProgress = { tablesTotal: await session.countDataTables(), tableMs: new Map() };
  // Sequences are outside the snapshot: read before pg_dump, the archive's can only be at or past these.
  const sequences = await session.readSequences();
  // The full dump runs alone: it is the long pole, and on a small machine anything beside it
  // slows it down. Everything else reads the same snapshot afterwards, alongside stage 2's
  // full read of the archive, which leaves a core free for it.
  await timed(
    ctx,
    "dump",
    () => dumpFull(ctx, tools, conn, session, compressArgs, abort, progress),
    durations,
  );
  const [stage1, stage2, catalog] = await timed(
    ctx,
    "verify",
    () => verifyInSnapshot(run, tools, progress.tableMs),
    durations,
  );
  const stages = reportStages(ctx, stage1, stage2);
  refuseUnkept(ctx.request.signal, stages);
  const manifest = buildManifest(run, {
    tools,
    choice,
    stage1,
    stage2,
    catalog: { ...catalog, sequences },
    stages,
  });
  await timed(ctx, "finalize", () => writeManifest(ctx.dir, manifest), durations);
  return manifest;
}

/** The dump's compression for this database (see compression-sample.ts), logged with its reason. */
function chooseIn({ ctx, durations }: Run, tools: PgTools, measured: Measured): CompressionChoice {
  const choice = chooseCompression(measured, tools.major, ctx.request.config.compress);
  if (choice.sample) durations.sample = choice.sample.ms;
  ctx.log.line(`compression ${choice.spec} (${choice.chosenBy}: ${choice.why})`);
  return choice;
}

/** The pg_dump and pg_restore that match the server; their warnings are told and kept for the manifest. */
async function toolsFor({ ctx, session, warnings }: Run): Promise<PgTools> {
  const tools = await findPgTools(
    session.serverMajor,
    serverVersionShort(session.serverVersionNum),
    ctx.request.config.pgBinDir,
  );
  for (const message of tools.warnings) {
    warnings.push(message);
    ctx.emit({ type: "warning", message });
  }
  ctx.log.line(`pg_dump ${tools.version}: ${tools.pgDump}`);
  return tools;
}

/**
 * After the dump, all at once: read the catalog in the dump's snapshot, write schema.sql from the
 * archive and the companions, and run stages 1 and 2. The first to fail stops the others.
 */
async function verifyInSnapshot(
  { ctx, session, abort, durations }: Run,
  tools: PgTools,
  tableMs: ReadonlyMap<string, number>,
): Promise<readonly [Stage1Result, Stage2Result, CatalogSnapshot]> {
  const { dir } = ctx;
  const guard = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      abort.abort();
      throw error;
    });
  const catalogRead = guard(timed(ctx, "catalog", () => session.readCatalog(), durations));
  const tie = { signal: abort.signal, owner: ctx.store };
  const listed = listArchive(dir, tools.pgRestore, tie);
  const schema = guard(
    timed(ctx, "schema", async () => schemaFromArchive(ctx, tools, await listed, abort), durations),
  );
  const companions = guard(catalogRead.then((c) => writeCompanions(dir, c, tools.version)));
  const readable = guard(
    verifyReadable(
      dir,
      tools.pgRestore,
      catalogRead.then((c) => c.counts),
      {
        ...tie,
        listed,
        // One reader per core, the tables shared out by the time pg_dump spent on each.
        parts: os.availableParallelism(),
        weight: (table) => tableMs.get(table) ?? 0,
      },
    ),
  );
  const dumped = guard(Promise.all([schema, companions]).then(() => verifyDumped(dir, [...ARTIFACTS])));
  const [s1, s2, c] = await Promise.all([dumped, readable, catalogRead, schema, companions]);
  await session.close();
  return [s1, s2, c] as const;
}

/** Stages 1 and 2 in order, each told to the listener and its checks written to the log. */
function reportStages(ctx: WorkContext, stage1: Stage1Result, stage2: Stage2Result): StageResult[] {
  const stages: StageResult[] = inOrder([stage1.result, stage2.result]);
  for (const s of stages) {
    ctx.emit({ type: "stage", stage: s.stage, ok: s.ok, ms: s.ms });
    for (const c of s.checks)
      ctx.log.line(`stage ${s.stage} ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
  }
  return stages;
}

/** A cancelled run, or one whose verification failed, keeps nothing. */
function refuseUnkept(signal: AbortSignal | undefined, stages: readonly StageResult[]): void {
  if (signal?.aborted) {
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
}

interface Verified {
  tools: PgTools;
  choice: CompressionChoice;
  stage1: Stage1Result;
  stage2: Stage2Result;
  catalog: CatalogSnapshot;
  stages: StageResult[];
}

/** The manifest of a verified run; stamps the finish time and the run's total duration. */
function buildManifest({ ctx, durations, warnings }: Run, v: Verified): Manifest {
  const { request, target } = ctx;
  const { tools, stage1, stage2, catalog } = v;
  const finishedAt = new Date();
  durations.total = Math.round(performance.now() - ctx.wallStart);
  return {
    schema: MANIFEST_SCHEMA,
    id: ctx.id,
    env: target.env,
    label: ctx.label ?? null,
    source: target.source,
    target: target.display,
    ...(catalog.identity ? { identity: catalog.identity } : {}),
    requestedBy: request.requestedBy,
    tool: { name: "dbbackup", version: TOOL_VERSION },
    startedAt: ctx.started.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationsMs: durations,
    server: { version: catalog.version, versionNum: catalog.serverVersionNum, major: catalog.serverMajor },
    client: { pgDump: tools.pgDump, version: tools.version, major: tools.major },
    compression: v.choice.spec,
    compressionChoice: withoutSpec(v.choice),
    lockWaitTimeoutSeconds: request.config.lockWaitTimeoutSeconds,
    snapshot: true,
    files: stage1.files,
    totalBytes: stage1.files.reduce((sum, f) => sum + f.bytes, 0),
    catalog: catalogSection(catalog),
    toc: {
      entries: stage2.toc?.entries.length ?? 0,
      counts: stage2.toc ? tocCounts(stage2.toc) : { ...catalog.counts, tableData: 0 },
    },
    verification: { stage: "readable", stages: v.stages },
    warnings,
  };
}

function withoutSpec({ spec: _spec, ...why }: CompressionChoice): Manifest["compressionChoice"] {
  return why;
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
    ...(catalog.sequences ? { sequences: catalog.sequences } : {}),
    objects: catalog.objects,
  };
}
