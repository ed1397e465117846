/**
 * What the bench stands on and takes down again: a temp work dir, the Postgres 15 scratch server, the
 * bench database (warmed up), the off-site rows' age key; all removed at the end, also on Ctrl-C.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { type ScratchServer, startScratchServer } from "../src/restore/scratch-server.js";
import { type BenchDatabase, createBenchDatabase } from "./dataset.js";
import { log, mebibytes, seconds } from "./format.js";
import { MB } from "./measure.js";
import type { AgeKey } from "./offsite.js";
import type { FreshDir } from "./timed-runs.js";

const SERVER_SETTINGS = {
  shared_buffers: "256MB",
  max_wal_size: "4GB",
  checkpoint_timeout: "30min",
};

/** The bench's temp dir and what lives outside it; cleanup stops and removes whatever is set. */
export interface Workspace {
  work: string;
  /** A new, unused directory under `work` (run-1, run-2, …). */
  fresh: FreshDir;
  server?: ScratchServer;
  ageKey?: AgeKey;
}

/**
 * Run `fn` in a fresh workspace, then stop the server and remove the age key and the work dir,
 * also on SIGINT/SIGTERM (exit code 130).
 */
export async function withWorkspace(fn: (workspace: Workspace) => Promise<void>): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), "dbbackup-bench-"));
  let dir = 0;
  const workspace: Workspace = { work, fresh: () => path.join(work, `run-${++dir}`) };
  // Once: a second Ctrl-C (or the finally after the first) waits for the same cleanup.
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await workspace.server?.stop();
      await workspace.ageKey?.remove();
      await rm(work, { recursive: true, force: true });
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the server and removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  // `on`, not `once`: with `once`, the handler is gone after the first signal and execa's own exit
  // handler re-raises it, ending the process before the cleanup finished.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await fn(workspace);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await cleanup();
  }
}

/** Start the scratch server into `workspace` (so cleanup stops it, even mid-start-up of the rest). */
export async function startBenchServer(workspace: Workspace): Promise<ScratchServer> {
  log(
    `starting Postgres 15 (${Object.entries(SERVER_SETTINGS)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")})`,
  );
  const server = await startScratchServer({ major: 15, settings: SERVER_SETTINGS });
  workspace.server = server;
  return server;
}

/** Create and fill the bench database at `url`, log its tables, then read it once to warm it up. */
export async function prepareBenchDatabase(url: string, targetBytes: number): Promise<BenchDatabase> {
  log(`creating the bench database (target ${(targetBytes / MB).toFixed(0)} MB)`);
  const db = await createBenchDatabase(url, targetBytes, { log });
  log(
    `database ${mebibytes(db.databaseBytes)} in ${seconds(db.timings.total)}: ` +
      db.tables.map((t) => `${t.name} ${t.rows} rows ${mebibytes(t.totalBytes)}`).join(", "),
  );
  await warmUp(url);
  return db;
}

/** Read every table once so the first timed run doesn't pay for cold pages. */
export async function warmUp(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(relname) AS name FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    );
    for (const { name } of tables.rows) await client.query(`SELECT count(*) FROM ${name}`);
  } finally {
    await client.end();
  }
}
