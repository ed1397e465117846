import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, startCli, workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";

describe("dbbackup restore-test through the CLI", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await loadFixture(server.url(), "supabase");
    work = workdir({ DATABASE_URL_STAGING: server.url() });
    const backup = await runCli(["pre-upgrade"], { cwd: work.dir });
    expect(backup.exitCode, backup.stderr).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("restore-tests the latest staging backup, and list then shows stage 3", async () => {
    const r = await runCli(["restore-test", "latest", "--env", "staging"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✔ restore test of \d{8}_\d{6}_staging_pre-upgrade passed: stage 3 restored/);
    expect(r.stdout).toMatch(/tables: 10 of 10 with the rows recorded at dump time/);
    expect(r.stderr).toMatch(/roles done in .*anon, authenticated/);
    const list = await runCli(["list"], { cwd: work.dir });
    expect(list.stdout).toMatch(/pre-upgrade\s+\S+ \S+\s+\S+ ago\s+3 restored/);
    const drills = readFileSync(path.join(work.dir, "backups", ".state", "drills.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(drills.at(-1) ?? "{}")).toMatchObject({ by: "tester", ok: true, env: "staging" });
  });

  it("gives one JSON document with --json, and a clear error for a backup that isn't there", async () => {
    const r = await runCli(["restore-test", "latest", "staging", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, env: "staging", serverMajor: 15 });
    const missing = await runCli(["restore-test", "20200101_000000_staging_nope"], { cwd: work.dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/✖ No backup 20200101_000000_staging_nope in .*backups\./);
    const none = await runCli(["restore-test", "latest", "--env", "prod"], { cwd: work.dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/No prod backup in .* has passed verification yet/);
  });
});

describe("restore-test interrupted with Ctrl-C", () => {
  it("stops pg_restore, removes the scratch server's data and exits 130", async () => {
    const server = await startScratchServer({ major: 15 });
    const work = workdir({ DATABASE_URL_STAGING: server.url() });
    // The scratch server's temp dir goes here, so the test can see it is gone; postgres must reach it.
    const tmp = mkdtempSync(path.join(os.tmpdir(), "dbbackup-ctrlc-"));
    chmodSync(tmp, 0o755);
    try {
      await loadFixture(server.url(), "supabase");
      await sql(
        server.url(),
        "create table public.bulk as select g as id, md5(g::text) as a, md5((g * 7)::text) as b from generate_series(1, 1500000) g",
      );
      expect((await runCli(["big"], { cwd: work.dir })).exitCode).toBe(0);
      const child = startCli(["restore-test", "latest"], { cwd: work.dir, env: { TMPDIR: tmp } });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const deadline = Date.now() + 30_000;
      while (!/roles done/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(stderr).toMatch(/roles done/);
      expect(readdirSync(tmp).some((n) => n.startsWith("dbbackup-pg15-"))).toBe(true);
      child.kill("SIGINT");
      const done = await child;
      expect(done.exitCode).toBe(130);
      expect(String(done.stderr)).toMatch(/✖ The restore test was cancelled/);
      expect(readdirSync(tmp).filter((n) => n.startsWith("dbbackup-pg15-"))).toEqual([]);
    } finally {
      await server.stop();
      work.remove();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
