/** Stage 3 (`dbbackup restore-test`) against a server start and a raw pg_restore by hand. */
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { startScratchServer } from "../src/restore/scratch-server.js";
import { cliPath } from "./dbbackup-cli.js";
import { log, median, pairedRatio, seconds } from "./format.js";
import { measureCommand } from "./measure.js";

export interface RestoreComparison {
  /** `dbbackup restore-test <id>`: server start, roles, pg_restore -j<cores>, parity, records (median). */
  dbbackupMs: number;
  /** Start a server, create an empty database, raw `pg_restore -j2` into it (median). */
  rawMs: number;
  /** The median of the rounds' ratios (see pairedRatio). */
  ratio: number;
  ok: boolean;
}

/** Start a server, create an empty database and the dump's roles, raw pg_restore -j2 into it; stop it. */
async function timeRaw(dump: string): Promise<number> {
  const rawStarted = performance.now();
  const server = await startScratchServer({ major: 15 });
  try {
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query("create database raw_restore");
    // What a careful person does first, as restore-test does: the roles the dump's grants name.
    await admin.query("create role bench_app nologin; create role bench_readonly nologin");
    await admin.end();
    const raw = await measureCommand("pg_restore", [
      "--no-owner",
      "--no-privileges",
      "-j2",
      "-d",
      server.url("raw_restore"),
      dump,
    ]);
    if (raw.exitCode !== 0) log(`raw pg_restore exited ${raw.exitCode}: ${raw.stderr.trim().slice(-300)}`);
  } finally {
    await server.stop();
  }
  const rawMs = performance.now() - rawStarted;
  log(`raw server start + pg_restore -j2: ${seconds(rawMs)}`);
  return rawMs;
}

async function timeRestoreTest(backupsDir: string, id: string, scratch: string) {
  const run = await measureCommand(process.execPath, [cliPath, "restore-test", id, "--json"], {
    cwd: scratch,
    env: { DBBACKUP_DIR: backupsDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const body = JSON.parse(run.stdout || "{}") as { ok?: boolean; summary?: string };
  log(`dbbackup restore-test: ${seconds(run.ms)}, ${body.summary ?? run.stderr.trim().slice(-300)}`);
  return { ms: run.ms, ok: body.ok === true };
}

/** Stage 3 against the least a person could do by hand to prove the same restore works, in rounds. */
export async function restoreComparison(
  backupsDir: string,
  rounds: number,
  scratch: string,
): Promise<RestoreComparison> {
  const [id] = (await readdir(backupsDir)).filter((n) => !n.startsWith("."));
  if (!id) throw new Error(`no backup kept in ${backupsDir}`);
  const dump = path.join(backupsDir, id, "db_full.dump");
  await mkdir(scratch, { recursive: true });
  const ours: number[] = [];
  const raw: number[] = [];
  let ok = true;
  for (let round = 0; round < rounds; round++) {
    const runOurs = async () => {
      const run = await timeRestoreTest(backupsDir, id, scratch);
      ours.push(run.ms);
      ok &&= run.ok;
    };
    const runRaw = async () => {
      raw.push(await timeRaw(dump));
    };
    // Alternating, so whatever the one before leaves behind (pages to write out) hits both alike.
    for (const run of round % 2 === 0 ? [runRaw, runOurs] : [runOurs, runRaw]) await run();
  }
  return {
    dbbackupMs: median(ours) ?? Number.NaN,
    rawMs: median(raw) ?? Number.NaN,
    ratio: pairedRatio(ours, raw) ?? Number.NaN,
    ok,
  };
}
