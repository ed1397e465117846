/**
 * Issue 13's row: `dbbackup restore <ID> --to-url` into a fresh, empty database (identify and check
 * the target, pg_restore -j<cores>, parity report) against a raw `pg_restore -j<cores>` of the same
 * archive into another fresh database on the same scratch server, in rounds, order alternating.
 *
 * Only the fresh-database restore is timed: an in-place restore needs an approval given in Slack, so
 * there is no safety backup here to time and print apart.
 */

import { execFile } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { ScratchServer } from "../src/restore/scratch-server.js";
import { cliPath } from "./dbbackup-cli.js";
import { log, median, pairedRatio, seconds } from "./format.js";
import { measureCommand } from "./measure.js";

export interface FreshRestore {
  /** `dbbackup restore <ID> --to-url <fresh db> --create-roles --json`, wall ms, one per round. */
  dbbackupMs: number[];
  /** `pg_restore --no-owner --no-privileges -j<cores> -d <fresh db> db_full.dump`, wall ms, one per round. */
  rawMs: number[];
  /** -j of the raw baseline (os.availableParallelism()). */
  cores: number;
  /** Every dbbackup run exited 0 and reported ok. */
  ok: boolean;
}

const execFileAsync = promisify(execFile);

/** A restore's wall varies by ±10% here from one run to the next: at least this many rounds. */
const MIN_ROUNDS = 5;

/** A single restore (either side) gives up after this long. */
const RUN_TIMEOUT_MS = 30 * 60 * 1000;

interface Setup {
  server: ScratchServer;
  backupsDir: string;
  id: string;
  dump: string;
  /** pg_restore from the bin dir whose pg_dump wrote the backup (the one the CLI restores with). */
  pgRestore: string;
  cores: number;
  /** The CLI's cwd: an empty dir, so no .env of the repo's is read. */
  cwd: string;
}

/** pg_restore next to the pg_dump the manifest names; else whatever PATH finds. */
async function pgRestoreOf(backupDir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(path.join(backupDir, "manifest.json"), "utf8")) as {
    client?: { pgDump?: unknown };
  };
  const pgDump = manifest.client?.pgDump;
  return typeof pgDump === "string" && path.isAbsolute(pgDump)
    ? path.join(path.dirname(pgDump), "pg_restore")
    : "pg_restore";
}

async function admin(server: ScratchServer, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: server.url() });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}

async function timeDbbackup(setup: Setup, url: string): Promise<{ ms: number; ok: boolean }> {
  const run = await measureCommand(
    process.execPath,
    [cliPath, "restore", setup.id, "--to-url", url, "--create-roles", "--json"],
    {
      cwd: setup.cwd,
      env: { DBBACKUP_DIR: setup.backupsDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeoutMs: RUN_TIMEOUT_MS,
    },
  );
  let body: { ok?: unknown; parity?: unknown } = {};
  try {
    body = JSON.parse(run.stdout || "{}") as typeof body;
  } catch {
    body = {};
  }
  const ok = run.exitCode === 0 && body.ok === true;
  const parityRows = Array.isArray(body.parity) ? body.parity.length : 0;
  log(
    `dbbackup restore (fresh database): ${seconds(run.ms)}, ` +
      (ok
        ? `ok, ${parityRows} parity rows`
        : `FAILED (exit ${run.exitCode}): ${run.stdout.trim().slice(-300)} ${run.stderr.trim().slice(-300)}`),
  );
  return { ms: run.ms, ok };
}

async function timeRaw(setup: Setup, url: string): Promise<number> {
  const run = await measureCommand(
    setup.pgRestore,
    ["--no-owner", "--no-privileges", `-j${setup.cores}`, "-d", url, setup.dump],
    { timeoutMs: RUN_TIMEOUT_MS },
  );
  if (run.exitCode !== 0) log(`raw pg_restore exited ${run.exitCode}: ${run.stderr.trim().slice(-300)}`);
  log(`raw pg_restore -j${setup.cores} (fresh database): ${seconds(run.ms)}`);
  return run.ms;
}

/**
 * One restore into a database of its own, created just before and dropped right after: the next
 * run then doesn't share the machine with autovacuum working through this one's fresh tables, nor
 * with the writing-out of its pages (a CHECKPOINT and a sync first).
 */
async function inFreshDatabase<T>(setup: Setup, name: string, run: (url: string) => Promise<T>): Promise<T> {
  await admin(setup.server, [`create database ${name}`, "checkpoint"]);
  // The scratch server runs with fsync off: what the last run wrote is still the kernel's to write
  // out. Written now, so the next run doesn't pay for it.
  await execFileAsync("sync");
  try {
    globalThis.gc?.();
    return await run(setup.server.url(name));
  } finally {
    await admin(setup.server, [`drop database if exists ${name} with (force)`]);
  }
}

/** One round: both restores, each into a fresh database (order by round). */
async function oneRound(setup: Setup, round: number, result: FreshRestore): Promise<void> {
  const runOurs = () =>
    inFreshDatabase(setup, `bench_restore_cli_${round}`, async (url) => {
      const run = await timeDbbackup(setup, url);
      result.dbbackupMs.push(run.ms);
      if (!run.ok) result.ok = false;
    });
  const runRaw = () =>
    inFreshDatabase(setup, `bench_restore_raw_${round}`, async (url) => {
      result.rawMs.push(await timeRaw(setup, url));
    });
  for (const run of round % 2 === 0 ? [runOurs, runRaw] : [runRaw, runOurs]) await run();
}

/** `rounds` rounds of dbbackup restore vs raw pg_restore, each into its own fresh database on `server`. */
export async function freshRestoreComparison(
  server: ScratchServer,
  backupsDir: string,
  rounds: number,
  scratch: string,
): Promise<FreshRestore> {
  if (server.host !== "127.0.0.1")
    throw new Error(`the bench restores only into 127.0.0.1, not ${server.host}`);
  const [id] = (await readdir(backupsDir)).filter((n) => !n.startsWith("."));
  if (!id) throw new Error(`no backup kept in ${backupsDir}`);
  await mkdir(scratch, { recursive: true });
  const setup: Setup = {
    server,
    backupsDir,
    id,
    dump: path.join(backupsDir, id, "db_full.dump"),
    pgRestore: await pgRestoreOf(path.join(backupsDir, id)),
    cores: os.availableParallelism(),
    cwd: scratch,
  };
  const timedRounds = Math.max(rounds, MIN_ROUNDS);
  log(
    `restore into a fresh database: ${timedRounds} round(s) after one untimed, raw baseline ${setup.pgRestore} -j${setup.cores}`,
  );
  // Untimed: the archive's pages into the page cache and the server's catalogs warm, for both sides alike.
  await inFreshDatabase(setup, "bench_restore_warmup", (url) => timeRaw(setup, url));
  const result: FreshRestore = { dbbackupMs: [], rawMs: [], cores: setup.cores, ok: true };
  for (let round = 0; round < timedRounds; round++) await oneRound(setup, round, result);
  return result;
}

/** The table row: median times, the median of the rounds' ratios, against a target of 1.10 (no safety backup: see the top of this file). */
export function freshRestoreRow(figures: FreshRestore | undefined): string[] {
  const ourMs = median(figures?.dbbackupMs ?? []);
  const rawMs = median(figures?.rawMs ?? []);
  const cores = figures?.cores ?? os.availableParallelism();
  const paired = pairedRatio(figures?.dbbackupMs ?? [], figures?.rawMs ?? []);
  return [
    `restore (fresh database${figures?.ok === false ? ", FAILED" : ""}) vs raw pg_restore -j${cores}`,
    seconds(ourMs),
    seconds(rawMs),
    paired === undefined ? "n/a" : paired.toFixed(2),
    "≤ 1.10",
  ];
}
