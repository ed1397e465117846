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
 *
 * Off-site copy (bench/offsite.ts): needs `age` and `age-keygen` on PATH; s3rver on 127.0.0.1.
 *
 * Nothing is cached across runs: the server, the database and every output live in temp dirs that
 * are removed at the end, also on Ctrl-C.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { listBackups } from "../src/backup/catalog.js";
import { type ScratchServer, startScratchServer } from "../src/restore/scratch-server.js";
import { stateFor } from "../src/state/open.js";
import { type BaselineResult, rawDumpAndRead, runbookScript } from "./baselines.js";
import { createBenchDatabase, DEFAULT_TARGET_BYTES } from "./dataset.js";
import { type FakeBackup, fakeBackupId, MB, makeFakeBackups, measureCommand } from "./measure.js";
import { type AgeKey, makeAgeKey, measureOffsite, offsiteRows } from "./offsite.js";
import { measureAcks } from "./slack-ack.js";

const SERVER_SETTINGS = {
  shared_buffers: "256MB",
  max_wal_size: "4GB",
  checkpoint_timeout: "30min",
};

/** The repository root: bench/ (run by tsx) sits below it. */
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = [path.resolve(here, ".."), path.resolve(here, "../..")].find((dir) =>
  existsSync(path.join(dir, "package.json")),
);
const cliPath = path.join(repoRoot ?? process.cwd(), "bin", "dbbackup.js");

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid];
  const lower = sorted[sorted.length % 2 === 0 ? mid - 1 : mid];
  return upper === undefined || lower === undefined ? undefined : (upper + lower) / 2;
}

const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
const mebibytes = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : `${(bytes / MB).toFixed(1)} MB`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? "n/a" : (a / b).toFixed(2);

// ---------------------------------------------------------------------------------------------
// DBBACKUP SLOTS. The lead wires these to the CLI; each returns undefined while it can't run, and
// the table then shows n/a. Expected CLI: `node bin/dbbackup.js backup --url <url> bench --json`
// with DBBACKUP_DIR=<tmp>, which leaves exactly one backup folder with db_full.dump in it.
// ---------------------------------------------------------------------------------------------

interface DbbackupRun {
  /** Wall-clock ms from spawn to exit (stage 2 passed). */
  ms: number;
  dumpBytes: number;
  peakRssBytes: number;
  /** The real manifest it wrote: the template of the 1,000 backups `list` reads. */
  manifest: Record<string, unknown>;
  compression: string;
}

/** One real backup of `url` to stage 2 through the CLI, timed, with the CLI process's peak RSS. */
async function dbbackupBackup(url: string, backupsDir: string, compress?: string): Promise<DbbackupRun> {
  const run = await measureCommand(process.execPath, [cliPath, "backup", "--url", url, "bench", "--json"], {
    cwd: repoRoot,
    env: {
      DBBACKUP_DIR: backupsDir,
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ...(compress ? { DBBACKUP_COMPRESS: compress } : {}),
    },
  });
  if (run.exitCode !== 0) {
    throw new Error(
      `dbbackup backup exited ${run.exitCode}: ${run.stdout.trim().slice(-400)} ${run.stderr.trim().slice(-400)}`,
    );
  }
  const folders = (await readdir(backupsDir, { withFileTypes: true })).filter(
    (d) => d.isDirectory() && !d.name.startsWith("."),
  );
  const [folder] = folders;
  if (folders.length !== 1 || !folder) throw new Error(`expected one backup folder in ${backupsDir}`);
  const dir = path.join(backupsDir, folder.name);
  const dumpBytes = (await stat(path.join(dir, "db_full.dump"))).size;
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const compression = typeof manifest.compression === "string" ? manifest.compression : "?";
  return { ms: run.ms, dumpBytes, peakRssBytes: run.rss.peakBytes, manifest, compression };
}

/**
 * Idle: the CLI with the backup verb's modules (pg, execa, zod) loaded, refusing at once because no
 * URL is configured — the same process doing no work.
 */
async function dbbackupIdleRss(): Promise<number | undefined> {
  const empty = await mkdtemp(path.join(os.tmpdir(), "dbbackup-idle-"));
  try {
    const run = await measureCommand(process.execPath, [cliPath, "backup", "idle", "--json"], {
      cwd: empty,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    return run.stdout.includes('"no_url"') ? run.rss.peakBytes : undefined;
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}

const FAKE_ENVS = ["staging", "prod", "eu-west"];
const FAKE_LABELS = [undefined, "pre-upgrade", "nightly", "migration-42"];

/** Backup i of 1,000: the real manifest of the bench's backup, re-labelled. */
function fakeBackup(template: Record<string, unknown>, i: number): FakeBackup {
  const env = FAKE_ENVS[i % FAKE_ENVS.length] ?? "staging";
  const label = FAKE_LABELS[i % FAKE_LABELS.length];
  const id = fakeBackupId(i, env, label);
  const finishedAt = new Date(Date.UTC(2025, 5, 30, 12) - i * 6 * 3600 * 1000).toISOString();
  return { id, manifest: { ...template, id, env, label: label ?? null, finishedAt } };
}

interface ListTimes {
  /** `dbbackup list --json` as a person runs it: Node's start-up included. */
  cliMs: number;
  /** The same with no backups at all: what start-up alone costs. */
  emptyCliMs: number;
  /** listBackups() itself, in this process: the listing work. */
  inProcessMs: number;
}

/** `list` over 1,000 backups: medians of 5 runs each. */
async function dbbackupList(backupsDir: string, template: Record<string, unknown>): Promise<ListTimes> {
  const emptyDir = `${backupsDir}-empty`;
  await mkdir(emptyDir, { recursive: true });
  const empty: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await measureCommand(process.execPath, [cliPath, "list", "--json"], {
      cwd: repoRoot,
      env: { DBBACKUP_DIR: emptyDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    empty.push(run.ms);
  }
  await makeFakeBackups(backupsDir, 1000, (i) => fakeBackup(template, i));
  const inProcess: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const listing = await listBackups(backupsDir, stateFor({ backupsDir, leaseMs: 60_000 }));
    inProcess.push(performance.now() - t0);
    if (listing.backups.length !== 1000)
      throw new Error(`listBackups found ${listing.backups.length} of 1000`);
  }
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await measureCommand(process.execPath, [cliPath, "list", "--json"], {
      cwd: repoRoot,
      env: { DBBACKUP_DIR: backupsDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    if (run.exitCode !== 0) throw new Error(`dbbackup list exited ${run.exitCode}: ${run.stderr.trim()}`);
    const listed = (JSON.parse(run.stdout) as { backups: unknown[] }).backups.length;
    if (listed !== 1000) throw new Error(`dbbackup list showed ${listed} of 1000 backups`);
    times.push(run.ms);
  }
  return { cliMs: median(times) ?? 0, emptyCliMs: median(empty) ?? 0, inProcessMs: median(inProcess) ?? 0 };
}

interface RestoreComparison {
  /** `dbbackup restore-test <id>`: server start, roles, pg_restore -j<cores>, parity, records. */
  dbbackupMs: number;
  /** Start a server, create an empty database, raw `pg_restore -j2` into it. */
  rawMs: number;
  ok: boolean;
}

/** Stage 3 against the least a person could do by hand to prove the same restore works. */
async function restoreComparison(backupsDir: string, scratch: string): Promise<RestoreComparison> {
  const [id] = (await readdir(backupsDir)).filter((n) => !n.startsWith("."));
  if (!id) throw new Error(`no backup kept in ${backupsDir}`);
  const dump = path.join(backupsDir, id, "db_full.dump");
  await mkdir(scratch, { recursive: true });
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
  const run = await measureCommand(process.execPath, [cliPath, "restore-test", id, "--json"], {
    cwd: scratch,
    env: { DBBACKUP_DIR: backupsDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  const body = JSON.parse(run.stdout || "{}") as { ok?: boolean; summary?: string };
  log(`dbbackup restore-test: ${seconds(run.ms)}, ${body.summary ?? run.stderr.trim().slice(-300)}`);
  return { dbbackupMs: run.ms, rawMs, ok: body.ok === true };
}

/** A pg_dump 15 equivalent of dbbackup's compression setting, so the raw baseline matches it. */
function rawArgsFor(compression: string): string[] {
  if (compression === "none") return ["-Z", "0"];
  const level = /^(?:gzip:)?([0-9])$/.exec(compression)?.[1];
  if (compression === "gzip") return ["-Z", "6"];
  if (!level) throw new Error(`bench: no pg_dump 15 equivalent of ${compression}`);
  return ["-Z", level];
}

// ---------------------------------------------------------------------------------------------

/** Read every table once so the first timed run doesn't pay for cold pages. */
async function warmUp(url: string): Promise<void> {
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

/** BENCH_COMPRESS when set, else the same compression dbbackup used (read from its manifest). */
function compressArgs(dbbackupCompression: string | undefined): string[] {
  const raw = process.env.BENCH_COMPRESS;
  if (raw !== undefined) return raw.trim() === "" ? [] : raw.trim().split(/\s+/);
  if (dbbackupCompression === undefined) throw new Error("bench: raw baseline ran before dbbackup");
  return rawArgsFor(dbbackupCompression);
}

function surveyLevels(): string[] {
  const levels = (process.env.BENCH_SURVEY ?? "")
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const level of levels) {
    if (level !== "default" && !/^[0-9]$/.test(level))
      throw new Error(`BENCH_SURVEY: not a gzip level: ${level}`);
  }
  return levels;
}

function stepsLine(result: BaselineResult): string {
  return result.steps.map((s) => `${s.step} ${seconds(s.ms)}`).join(", ");
}

async function main(): Promise<void> {
  const targetBytes = positiveInt("BENCH_TARGET_MB", DEFAULT_TARGET_BYTES / MB) * MB;
  const rounds = positiveInt("BENCH_REPEAT", 3);
  const altCompress = process.env.BENCH_ALT_COMPRESS ?? "gzip:1";
  const work = await mkdtemp(path.join(os.tmpdir(), "dbbackup-bench-"));
  let server: ScratchServer | undefined;
  let ageKey: AgeKey | undefined;
  const cleanup = async () => {
    await server?.stop();
    await ageKey?.remove();
    await rm(work, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the server and removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    // The off-site rows' throwaway age key, first: no age, no waiting for a database to find out.
    ageKey = await makeAgeKey(work);
    log(
      `starting Postgres 15 (${Object.entries(SERVER_SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")})`,
    );
    server = await startScratchServer({ major: 15, settings: SERVER_SETTINGS });
    const url = server.url("bench");
    log(`creating the bench database (target ${(targetBytes / MB).toFixed(0)} MB)`);
    const db = await createBenchDatabase(url, targetBytes, { log });
    log(
      `database ${mebibytes(db.databaseBytes)} in ${seconds(db.timings.total)}: ` +
        db.tables.map((t) => `${t.name} ${t.rows} rows ${mebibytes(t.totalBytes)}`).join(", "),
    );
    await warmUp(url);

    const runbook: BaselineResult[] = [];
    const raw: BaselineResult[] = [];
    const dbbackup: DbbackupRun[] = [];
    let keptBackup: string | undefined;
    const dbbackupAlt: DbbackupRun[] = [];
    let dir = 0;
    const fresh = () => path.join(work, `run-${++dir}`);
    const jobs: Array<{ name: string; run: () => Promise<void> }> = [
      {
        name: "dbbackup",
        run: async () => {
          const out = fresh();
          const result = await dbbackupBackup(url, out);
          dbbackup.push(result);
          log(
            `dbbackup: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${result.compression}), peak RSS ${mebibytes(result.peakRssBytes)}, steps ${JSON.stringify(result.manifest.durationsMs)}`,
          );
          // The first backup stays for the restore-test comparison.
          if (keptBackup === undefined) keptBackup = out;
          else await rm(out, { recursive: true, force: true });
        },
      },
      {
        name: "runbook script",
        run: async () => {
          const out = fresh();
          const result = await runbookScript(url, out);
          runbook.push(result);
          log(
            `runbook script: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${stepsLine(result)})`,
          );
          await rm(out, { recursive: true, force: true });
        },
      },
      ...(altCompress
        ? [
            {
              name: `dbbackup ${altCompress}`,
              run: async () => {
                const out = fresh();
                const result = await dbbackupBackup(url, out, altCompress);
                dbbackupAlt.push(result);
                log(
                  `dbbackup ${altCompress}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)}, steps ${JSON.stringify(result.manifest.durationsMs)}`,
                );
                await rm(out, { recursive: true, force: true });
              },
            },
          ]
        : []),
      {
        name: "raw pg_dump + pg_restore",
        run: async () => {
          const out = fresh();
          const args = compressArgs(dbbackup[0]?.compression);
          const result = await rawDumpAndRead(url, out, args);
          raw.push(result);
          log(
            `raw ${args.join(" ") || "default"}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${stepsLine(result)})`,
          );
          await rm(out, { recursive: true, force: true });
        },
      },
    ];
    // Rotate the order every round so drift on a noisy machine doesn't always hit the same run.
    for (let round = 0; round < rounds; round++) {
      for (let j = 0; j < jobs.length; j++) {
        const job = jobs[(round + j) % jobs.length];
        if (!job) continue;
        globalThis.gc?.();
        await job.run();
      }
    }

    for (const level of surveyLevels()) {
      const args = level === "default" ? [] : ["-Z", level];
      const out = fresh();
      const result = await rawDumpAndRead(url, out, args);
      const vsRunbook = ratio(result.dumpBytes, median(runbook.map((r) => r.dumpBytes)));
      log(
        `survey ${args.join(" ") || "default"}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} ` +
          `= ${vsRunbook}× the runbook's (${stepsLine(result)})`,
      );
      await rm(out, { recursive: true, force: true });
    }

    const restore = keptBackup ? await restoreComparison(keptBackup, fresh()) : undefined;
    const acks = await measureAcks(url);
    log(`slack acks: ${JSON.stringify(acks)}`);
    const idleRss = await dbbackupIdleRss();
    const template = dbbackup[0]?.manifest;
    const listMs = template ? await dbbackupList(fresh(), template) : undefined;
    const offsite = keptBackup ? await measureOffsite(keptBackup, ageKey, rounds, fresh(), log) : undefined;

    const runbookMs = median(runbook.map((r) => r.ms));
    const runbookBytes = median(runbook.map((r) => r.dumpBytes));
    const rawMs = median(raw.map((r) => r.ms));
    const ourMs = median(dbbackup.map((r) => r.ms));
    const ourBytes = median(dbbackup.map((r) => r.dumpBytes));
    const ourRss = median(dbbackup.map((r) => r.peakRssBytes));
    const altMs = median(dbbackupAlt.map((r) => r.ms));
    const altBytes = median(dbbackupAlt.map((r) => r.dumpBytes));
    const defaultCompression = dbbackup[0]?.compression ?? "?";
    const rssDelta = ourRss === undefined || idleRss === undefined ? undefined : ourRss - idleRss;

    const rows: string[][] = [
      ["metric", "dbbackup", "baseline", "ratio", "target"],
      [
        `time to stage 2 vs runbook script (default ${defaultCompression})`,
        seconds(ourMs),
        seconds(runbookMs),
        ratio(ourMs, runbookMs),
        "≤ 0.65",
      ],
      [
        `dump size vs runbook's (default ${defaultCompression})`,
        mebibytes(ourBytes),
        mebibytes(runbookBytes),
        ratio(ourBytes, runbookBytes),
        "≤ 1.10",
      ],
      ...(altCompress
        ? [
            [
              `time to stage 2 vs runbook script (DBBACKUP_COMPRESS=${altCompress})`,
              seconds(altMs),
              seconds(runbookMs),
              ratio(altMs, runbookMs),
              "≤ 0.65",
            ],
            [
              `dump size vs runbook's (DBBACKUP_COMPRESS=${altCompress})`,
              mebibytes(altBytes),
              mebibytes(runbookBytes),
              ratio(altBytes, runbookBytes),
              "≤ 1.10",
            ],
          ]
        : []),
      [
        `time vs raw pg_dump ${compressArgs(dbbackup[0]?.compression).join(" ")} + pg_restore -f /dev/null`,
        seconds(ourMs),
        seconds(rawMs),
        ratio(ourMs, rawMs),
        "≤ 1.05",
      ],
      [
        `restore-test (stage 3${restore?.ok === false ? ", FAILED" : ""}) vs server start + raw pg_restore -j2`,
        seconds(restore?.dbbackupMs),
        seconds(restore?.rawMs),
        ratio(restore?.dbbackupMs, restore?.rawMs),
        "≤ 1.20",
      ],
      [
        `Slack ack p50 / p99 of ${acks.commands} slash commands (${acks.duringDump} during a dump${acks.backupOk ? "" : ", dump FAILED"})`,
        `${acks.p50Ms.toFixed(1)} / ${acks.p99Ms.toFixed(1)} ms`,
        "50 ms",
        ratio(acks.p99Ms, 50),
        "p99 ≤ 50 ms",
      ],
      [
        "bot RSS during that dump vs idle",
        mebibytes(acks.peakRssBytes),
        mebibytes(acks.idleRssBytes),
        `+${((acks.peakRssBytes - acks.idleRssBytes) / MB).toFixed(1)} MB`,
        "",
      ],
      [
        "peak RSS vs idle CLI",
        mebibytes(ourRss),
        mebibytes(idleRss),
        rssDelta === undefined ? "n/a" : `+${(rssDelta / MB).toFixed(1)} MB`,
        "≤ +30 MB",
      ],
      [
        "list over 1,000 backups (listing work, in-process)",
        listMs === undefined ? "n/a" : `${listMs.inProcessMs.toFixed(0)} ms`,
        "200 ms",
        listMs === undefined ? "n/a" : ratio(listMs.inProcessMs, 200),
        "≤ 200 ms",
      ],
      [
        "`dbbackup list` over 1,000 backups (CLI, Node start-up included)",
        listMs === undefined ? "n/a" : `${listMs.cliMs.toFixed(0)} ms`,
        listMs === undefined ? "n/a" : `${listMs.emptyCliMs.toFixed(0)} ms with 0`,
        listMs === undefined ? "n/a" : ratio(listMs.cliMs, 200),
        "≤ 200 ms",
      ],
      ...offsiteRows(offsite),
    ];
    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
    const line = (cells: string[]) =>
      `| ${cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
    const [header, ...body] = rows;
    if (!header) return;
    const out = [
      "",
      `Postgres 15, pg_database_size ${mebibytes(db.databaseBytes)}, ${os.availableParallelism()} CPUs, ` +
        `median of ${rounds} round${rounds === 1 ? "" : "s"}`,
      "",
      line(header),
      line(widths.map((w) => "-".repeat(w))),
      ...body.map(line),
      "",
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await cleanup();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
