import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    expect(r.stdout).toContain(
      "compared: tables, views, extensions, policies, sequences, functions and procedures, materialized views, triggers and event triggers",
    );
    expect(r.stdout).not.toContain("not compared");
    expect(r.stderr).toMatch(/roles done in .*anon, authenticated/);
    const list = await runCli(["list"], { cwd: work.dir });
    expect(list.stdout).toMatch(/pre-upgrade\s+\S+ \S+\s+\S+ ago\s+3 restored\s+tester\s+passed \S+ ago/);
    const json = JSON.parse((await runCli(["list", "--json"], { cwd: work.dir })).stdout) as {
      backups: { stage: string; restoreTest?: { ok: boolean; by: string; at: string } }[];
    };
    expect(json.backups[0]).toMatchObject({ stage: "restored", restoreTest: { ok: true, by: "tester" } });
    const drills = readFileSync(path.join(work.dir, "backups", ".state", "drills.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(JSON.parse(drills.at(-1) ?? "{}")).toMatchObject({ by: "tester", ok: true, env: "staging" });
  });

  it("gives one JSON document with --json, and a clear error for a backup that isn't there", async () => {
    const r = await runCli(["restore-test", "latest", "staging", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { compared: { kind: string; compared: boolean }[] };
    expect(result).toMatchObject({ ok: true, env: "staging", serverMajor: 15 });
    expect(result.compared).toContainEqual({ kind: "sequences", compared: true });
    expect(result.compared.filter((c) => !c.compared)).toEqual([]);
    const missing = await runCli(["restore-test", "20200101_000000_staging_nope"], { cwd: work.dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/✖ No backup 20200101_000000_staging_nope in .*backups\./);
    const none = await runCli(["restore-test", "latest", "--env", "prod"], { cwd: work.dir });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/No prod backup in .* has passed verification yet/);
  });
  it("a failed restore test shows in list and list --json: FAILED, not just '2 readable'", async () => {
    const made = await runCli(["tampered", "--json"], { cwd: work.dir });
    expect(made.exitCode, made.stderr).toBe(0);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    // The manifest now claims a row the dump doesn't have: the restore can't match it.
    const file = path.join(work.dir, "backups", id, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as {
      catalog: { tables: { name: string; rows: number }[] };
    };
    const table = manifest.catalog.tables.find((t) => t.name === "tenants");
    if (!table) throw new Error("no tenants table in the manifest");
    table.rows += 1;
    writeFileSync(file, JSON.stringify(manifest));
    const r = await runCli(["restore-test", id], { cwd: work.dir });
    expect(r.exitCode).toBe(1);
    const list = await runCli(["list"], { cwd: work.dir });
    expect(list.stdout).toMatch(
      new RegExp(`${id}\\s+tampered\\s+\\S+ \\S+\\s+\\S+ ago\\s+2 readable\\s+tester\\s+FAILED \\S+ ago`),
    );
    const json = JSON.parse((await runCli(["list", "--json"], { cwd: work.dir })).stdout) as {
      backups: { id: string; stage: string; restoreTest?: { ok: boolean } }[];
    };
    expect(json.backups.find((b) => b.id === id)).toMatchObject({
      stage: "readable",
      restoreTest: { ok: false },
    });
  });
});

describe("a restore that fails on what pg_dump can't reproduce", () => {
  it("names the object and says a new backup would fail the same way, instead of 'take a new one'", async () => {
    const server = await startScratchServer({ major: 15 });
    const work = workdir({ DATABASE_URL_STAGING: server.url() });
    try {
      // A CHECK whose function names a table without its schema: a restore runs with an empty
      // search_path, so loading the rows fails, in every backup pg_dump makes of this database.
      await sql(
        server.url(),
        `create table public.allowed (v int); insert into public.allowed values (1);
         create function public.is_allowed(x int) returns boolean language sql stable
           as 'select exists (select 1 from allowed where v = x)';
         create table public.items (v int check (public.is_allowed(v))); insert into public.items values (1);`,
      );
      expect((await runCli(["unrestorable"], { cwd: work.dir })).exitCode).toBe(0);
      const r = await runCli(["restore-test", "latest"], { cwd: work.dir });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toContain(
        "→ pg_dump can't write this so that it restores, and a new backup would fail the same way: the rows of items.",
      );
      expect(r.stdout).not.toContain("take a new one");
    } finally {
      await server.stop();
      work.remove();
    }
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
