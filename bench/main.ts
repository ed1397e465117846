/**
 * `npm run bench`: a Postgres 15 scratch server on 127.0.0.1, a fresh ~550 MB database of realistic
 * rows, then dbbackup against its baselines, printed as one table (markdown, for the README).
 *
 * Environment:
 *   BENCH_TARGET_MB   size of the database (pg_database_size, MiB), default 550
 *   BENCH_REPEAT      rounds of each timed run (medians are reported), default 3
 *   BENCH_ALT_COMPRESS a second DBBACKUP_COMPRESS to time against the runbook, default gzip:1 ("" skips)
 *   BENCH_COMPRESS    pg_dump 15 compression args of the raw baseline, default "-Z 1" (dbbackup's gzip:1)
 *   BENCH_SURVEY      gzip levels to also dump at (raw pg_dump + pg_restore), printing time and size of
 *                     each, e.g. "default,1,2,3"; unset: no survey
 *   BENCH_ENTROPY_MB  size of the second, high-entropy database (issue 15), default 560
 *   BENCH_ONLY        "entropy": only the high-entropy database's backup rows (a ~5 min check);
 *                     "backups": only the backup rows of both databases (~10 min);
 *                     "workers": only the workers' throughput row (~3 min);
 *                     "restore": only the restore rows of the first database (~10 min)
 *
 * Off-site copy (bench/offsite.ts): needs `age` and `age-keygen` on PATH; s3rver on 127.0.0.1.
 * Workers (bench/workers.ts): 10 small databases (BENCH_WORKER_ROWS rows each, default 50,000) on the
 * same server, drained by `dbbackup worker` processes through a state database of their own, by 1
 * and by 2 workers, BENCH_REPEAT rounds each; BENCH_WORKER_TIMELINE=1 prints each drain's jobs.
 *
 * Nothing is cached across runs: the server, the database and every output live in temp dirs that
 * are removed at the end, also on Ctrl-C.
 */

import { backupRows } from "./backup-rows.js";
import { DEFAULT_TARGET_BYTES } from "./dataset.js";
import { ENTROPY_TARGET_BYTES } from "./dataset-entropy.js";
import { dbbackupIdleRss } from "./dbbackup-cli.js";
import { entropyDataset } from "./entropy-bench.js";
import { log } from "./format.js";
import { dbbackupList } from "./list-times.js";
import { MB } from "./measure.js";
import { makeAgeKey, measureOffsite } from "./offsite.js";
import { measureReplicaAcks } from "./replica-acks.js";
import { restoreComparison } from "./restore-compare.js";
import { freshRestoreComparison, freshRestoreRow } from "./restore-fresh.js";
import { HEADER, renderTable, restoreRow, resultRows } from "./results-table.js";
import { prepareBenchDatabase, startBenchServer, type Workspace, withWorkspace } from "./setup.js";
import { measureAcks } from "./slack-ack.js";
import { compressionSurvey, timedRuns } from "./timed-runs.js";
import { measureWorkers, workersRow } from "./workers.js";

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

interface BenchConfig {
  targetBytes: number;
  entropyBytes: number;
  rounds: number;
  /** "" skips the second dbbackup run. */
  altCompress: string;
  /** BENCH_ONLY; "" runs everything. */
  only: Only;
}

const ONLY = ["", "entropy", "backups", "workers", "restore"] as const;
type Only = (typeof ONLY)[number];
const isOnly = (value: string): value is Only => (ONLY as readonly string[]).includes(value);

function readConfig(): BenchConfig {
  const targetBytes = positiveInt("BENCH_TARGET_MB", DEFAULT_TARGET_BYTES / MB) * MB;
  const entropyBytes = positiveInt("BENCH_ENTROPY_MB", ENTROPY_TARGET_BYTES / MB) * MB;
  const rounds = positiveInt("BENCH_REPEAT", 3);
  const altCompress = process.env.BENCH_ALT_COMPRESS ?? "gzip:1";
  const only = process.env.BENCH_ONLY ?? "";
  if (!isOnly(only))
    throw new Error(
      `BENCH_ONLY must be ${ONLY.filter(Boolean)
        .map((o) => `"${o}"`)
        .join(", ")} or unset, not ${only}`,
    );
  return { targetBytes, entropyBytes, rounds, altCompress, only };
}

/** BENCH_ONLY: the backup rows of the high-entropy database, and of the first one with "backups". */
async function runBackupsOnly(config: BenchConfig, workspace: Workspace): Promise<void> {
  const { targetBytes, entropyBytes, rounds, altCompress } = config;
  const server = await startBenchServer(workspace);
  const rows = [HEADER];
  let databaseBytes = entropyBytes;
  if (config.only === "backups") {
    const url = server.url("bench");
    databaseBytes = (await prepareBenchDatabase(url, targetBytes)).databaseBytes;
    const timed = await timedRuns(url, { rounds, altCompress, raw: true }, workspace.fresh);
    rows.push(...backupRows({ prefix: "", timed, altCompress }));
  }
  rows.push(...backupRows(await entropyDataset(server, entropyBytes, rounds, workspace.fresh)));
  const table = renderTable(rows, databaseBytes, rounds);
  if (table !== undefined) process.stdout.write(table);
}

/** BENCH_ONLY=workers: the workers' row alone. */
async function runWorkersOnly(config: BenchConfig, workspace: Workspace): Promise<void> {
  const server = await startBenchServer(workspace);
  const workers = await measureWorkers(server, workspace.fresh(), config.rounds, log);
  process.stdout.write(renderTable([HEADER, workersRow(workers)], 0, config.rounds) ?? "");
}

/** BENCH_ONLY=restore: one dbbackup backup of the first database, then both restore rows. */
async function runRestoreOnly(config: BenchConfig, workspace: Workspace): Promise<void> {
  const server = await startBenchServer(workspace);
  const url = server.url("bench");
  const db = await prepareBenchDatabase(url, config.targetBytes);
  const timed = await timedRuns(url, { rounds: 1, altCompress: "", raw: true }, workspace.fresh);
  const { keptBackup } = timed;
  if (!keptBackup) throw new Error("the bench backup failed: nothing to restore");
  const restore = await restoreComparison(keptBackup, config.rounds, workspace.fresh());
  const freshRestore = await freshRestoreComparison(server, keptBackup, config.rounds, workspace.fresh());
  const rows = [HEADER, restoreRow(restore), freshRestoreRow(freshRestore)];
  process.stdout.write(renderTable(rows, db.databaseBytes, config.rounds) ?? "");
}

/** Every figure, in order, then the table on stdout. */
async function runBench(config: BenchConfig, workspace: Workspace): Promise<void> {
  const { targetBytes, rounds, altCompress } = config;
  const { fresh } = workspace;
  // The off-site rows' throwaway age key, first: no age, no waiting for a database to find out.
  const ageKey = await makeAgeKey(workspace.work);
  workspace.ageKey = ageKey;
  const server = await startBenchServer(workspace);
  const url = server.url("bench");
  const db = await prepareBenchDatabase(url, targetBytes);

  const timed = await timedRuns(url, { rounds, altCompress, raw: true }, fresh);
  await compressionSurvey(url, timed.runbook, fresh);

  const { keptBackup } = timed;
  const restore = keptBackup ? await restoreComparison(keptBackup, rounds, fresh()) : undefined;
  const freshRestore = keptBackup
    ? await freshRestoreComparison(server, keptBackup, rounds, fresh())
    : undefined;
  const acks = await measureAcks(url);
  log(`slack acks: ${JSON.stringify(acks)}`);
  const idleRss = await dbbackupIdleRss();
  const template = timed.dbbackup[0]?.manifest;
  const listMs = template ? await dbbackupList(fresh(), template) : undefined;
  const offsite = keptBackup ? await measureOffsite(keptBackup, ageKey, rounds, fresh(), log) : undefined;
  const workers = await measureWorkers(server, fresh(), rounds, log);
  const replicaAcks = await measureReplicaAcks(server, url);
  log(`replica acks: ${JSON.stringify(replicaAcks)}`);
  // Last, so the first database's figures are taken as before, with its pages alone in memory.
  const entropy = await entropyDataset(server, config.entropyBytes, rounds, fresh);

  const rows = resultRows({
    timed,
    altCompress,
    restore,
    freshRestore,
    acks,
    idleRss,
    listMs,
    offsite,
    workers,
    replicaAcks,
    entropy,
  });
  const table = renderTable(rows, db.databaseBytes, rounds);
  if (table !== undefined) process.stdout.write(table);
}

const RUNS: Record<Only, (config: BenchConfig, workspace: Workspace) => Promise<void>> = {
  "": runBench,
  entropy: runBackupsOnly,
  backups: runBackupsOnly,
  workers: runWorkersOnly,
  restore: runRestoreOnly,
};

async function main(): Promise<void> {
  const config = readConfig();
  await withWorkspace((workspace) => RUNS[config.only](config, workspace));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
