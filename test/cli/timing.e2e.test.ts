import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rowsToCount } from "../../src/backup/catalog-rules.js";
import { manifestSchema } from "../../src/backup/manifest.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { LeaseRecord } from "../../src/state/instance.js";
import { locksDoc } from "../../src/state/locks.js";
import { updateDoc } from "../../src/state/store.js";
import { runCli, workdir } from "../helpers/cli.js";
import { sql, useTestServer } from "../helpers/postgres.js";
import { stateOf } from "../helpers/state.js";

/** What a backup says about time and rows is what happened: wall time, and no blind count(*) of big tables. */

describe("rowsToCount", () => {
  it("an analyzed table: the planner's rows; a never-analyzed one (-1): bounded by its size", () => {
    expect(rowsToCount(1234, 1_000_000)).toEqual({ atMost: 1234, estimate: 1234 });
    expect(rowsToCount(0, 0)).toEqual({ atMost: 0, estimate: 0 });
    expect(rowsToCount(-1, 0)).toEqual({ atMost: 0, estimate: 0 });
    // 8 MB never analyzed: at most 8 MB / 28 B rows; estimated at 100 B a row.
    expect(rowsToCount(-1, 8_388_608)).toEqual({ atMost: 299_593, estimate: 83_886 });
  });
});

describe("a backup's reported time and row counts", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    // Never analyzed (autovacuum off): its reltuples is -1, which used to read as "empty, count it".
    await sql(
      server.url(),
      `create table public.events (id int, body text) with (autovacuum_enabled = false);
       insert into public.events select g, repeat('x', 60) from generate_series(1, 50000) g;
       create table public.small (id int primary key); insert into small select generate_series(1, 10);
       analyze public.small;`,
    );
    work = workdir({ DATABASE_URL_STAGING: server.url(), DBBACKUP_EXACT_COUNT_MAX_ROWS: "1000" });
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("counts small analyzed tables exactly and estimates a big never-analyzed one by its size", async () => {
    const r = await runCli(["counts", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const { id } = JSON.parse(r.stdout) as { id: string };
    const manifest = manifestSchema.parse(
      JSON.parse(readFileSync(path.join(work.dir, "backups", id, "manifest.json"), "utf8")),
    );
    const byName = Object.fromEntries(manifest.catalog.tables.map((t) => [t.name, t]));
    expect(byName.small).toMatchObject({ rows: 10, exact: true });
    expect(byName.events?.exact).toBe(false);
    // ~5 MB of rows at ~100 B each: the right order of magnitude, without reading them.
    expect(byName.events?.rows).toBeGreaterThan(10_000);
    expect(byName.events?.rows).toBeLessThan(200_000);
  });

  it("reports the wall time of the whole run, waiting for the env's lock included", async () => {
    // A run in another container holds the lock and stopped renewing: the backup waits ~2 s for it.
    const root = path.join(work.dir, "backups");
    const now = Date.now();
    const lease: LeaseRecord = {
      id: "abababababababab",
      pid: 1,
      host: "gone-container",
      startedAt: new Date(now - 60_000).toISOString(),
      bootId: null,
      pidNamespace: null,
      processStart: null,
      role: "backup",
      renewedAt: new Date(now - 30_000).toISOString(),
      expiresAt: new Date(now + 2_000).toISOString(),
      leaseMs: 60_000,
      renewMs: 1_000,
    };
    mkdirSync(path.join(root, ".state", "instances"), { recursive: true });
    writeFileSync(path.join(root, ".state", "instances", `${lease.id}.json`), JSON.stringify(lease));
    await updateDoc(stateOf(root), locksDoc, (doc) => ({
      next: {
        locks: {
          ...doc.locks,
          "backup:staging": {
            name: "backup:staging",
            instance: lease.id,
            pid: 1,
            host: lease.host,
            jobId: "0badc0de",
            requestedBy: "bob",
            startedAt: lease.startedAt,
            what: "20261129_000000_staging_old",
          },
        },
      },
      result: undefined,
    }));
    const r = await runCli(["waited", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { id: string; durationMs: number };
    expect(result.durationMs).toBeGreaterThanOrEqual(1_500);
    const manifest = manifestSchema.parse(
      JSON.parse(readFileSync(path.join(root, result.id, "manifest.json"), "utf8")),
    );
    const wall = Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt);
    expect(Math.abs((manifest.durationsMs.total ?? 0) - wall)).toBeLessThan(250);
  });
});

describe("a backup's own round trips to the server", () => {
  let work: { dir: string; remove(): void };
  const logDir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-statements-"));
  chmodSync(logDir, 0o777); // the server runs as another user
  const TABLES = 150;
  const db = useTestServer(15, {
    logging_collector: "on",
    log_directory: logDir,
    log_filename: "statements.log",
    log_statement: "all",
    log_line_prefix: "%p|%a|",
  });

  beforeAll(async () => {
    const tables = Array.from(
      { length: TABLES },
      (_, i) => `create table public.t${i} (id int primary key); insert into public.t${i} values (1), (2);`,
    );
    await sql(db.server.url(), `${tables.join("\n")}\nanalyze;`);
    work = workdir({ DATABASE_URL_STAGING: db.server.url() });
  });
  afterAll(() => {
    work?.remove();
    rmSync(logDir, { recursive: true, force: true });
  });

  it("don't grow with the number of tables (over a remote link each one costs a round trip)", async () => {
    const r = await runCli(["roundtrips", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const byPid = new Map<string, string[]>();
    for (const line of readFileSync(path.join(logDir, "statements.log"), "utf8").split("\n")) {
      const m = /^(\d+)\|dbbackup:[0-9a-f]+\|LOG:\s+(?:statement|execute [^:]*): (.*)$/.exec(line);
      if (!m?.[1] || m[2] === undefined) continue;
      byPid.set(m[1], [...(byPid.get(m[1]) ?? []), m[2]]);
    }
    // pg_dump's sessions start by emptying search_path; what is left is dbbackup's own.
    const ours = [...byPid.values()].filter(
      (statements) => !statements.some((s) => s.includes("set_config('search_path', '', false)")),
    );
    expect(ours.length).toBeGreaterThan(0);
    const statements = ours.flat();
    expect(statements.length, statements.join("\n")).toBeLessThan(40);
    const manifest = manifestSchema.parse(
      JSON.parse(
        readFileSync(
          path.join(work.dir, "backups", (JSON.parse(r.stdout) as { id: string }).id, "manifest.json"),
          "utf8",
        ),
      ),
    );
    // Every table was still counted exactly: fewer trips, not less truth.
    expect(manifest.catalog.tables.filter((t) => t.exact)).toHaveLength(TABLES);
  });
});
