import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveTarget } from "../../src/backup/target.js";
import { loadConfig } from "../../src/config.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { inspectTarget } from "../../src/restore/target-inventory.js";
import { commandLinesOf, runCli, startCli, workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";

describe("dbbackup restore: the runbook's restore, guarded", () => {
  let pg15: ScratchServer;
  let pg16: ScratchServer;
  let pg14: ScratchServer;
  let work: ReturnType<typeof workdir>;
  let id: string;

  const inventory = async (url: string) => {
    const target = resolveTarget(loadConfig({ cwd: work.dir, env: {}, noEnvFile: true }), { url });
    const inv = await inspectTarget(target);
    return { objects: inv.userObjects, roles: inv.roles };
  };

  beforeAll(async () => {
    [pg15, pg16, pg14] = await Promise.all([
      startScratchServer({ major: 15 }),
      startScratchServer({ major: 16 }),
      startScratchServer({ major: 14 }),
    ]);
    await loadFixture(pg15.url(), "supabase");
    await sql(pg15.url(), "create database fresh");
    await sql(pg15.url(), "create database busy");
    await sql(pg15.url("busy"), "create table public.leftover (id int)");
    await sql(pg14.url(), "create database fresh");
    await sql(pg15.url(), "create database big");
    await sql(pg15.url(), "create database fresh2");
    // Big enough that pg_restore takes a few seconds: time to press Ctrl-C.
    await sql(
      pg15.url("big"),
      "create table public.rows as select g as id, md5(g::text) as a, md5((g * 7)::text) as b from generate_series(1, 1500000) g",
    );
    work = workdir({ DATABASE_URL_STAGING: pg15.url(), DATABASE_URL_BIG: pg15.url("big") });
    const backup = await runCli(["staging", "incident"], { cwd: work.dir });
    expect(backup.exitCode, backup.stderr).toBe(0);
    id = readdirSync(path.join(work.dir, "backups")).find((n) => n.endsWith("_incident")) ?? "";
  });
  afterAll(async () => {
    await Promise.all([pg15?.stop(), pg16?.stop(), pg14?.stop()]);
    work?.remove();
  });

  it("a dry run says what would happen and changes nothing", async () => {
    const before = await inventory(pg16.url());
    const r = await runCli(["restore", id, "--to-url", pg16.url(), "--dry-run", "--create-roles"], {
      cwd: work.dir,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("Dry run: nothing was changed.");
    expect(r.stdout).toMatch(/roles\s+would create \(NOLOGIN\): .*anon.*authenticated/);
    expect(await inventory(pg16.url())).toEqual(before);
  });

  it("restores into a fresh database and proves it with the parity report", async () => {
    const r = await runCli(["restore", id, "--to-url", pg15.url("fresh")], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`✔ ${id} restored into .*database fresh, Postgres 15`));
    expect(r.stdout).toMatch(/tables: (\d+) of \1 with the rows recorded at dump time/);
    const [{ n } = { n: "0" }] = await sql<{ n: string }>(
      pg15.url("fresh"),
      "select count(*)::text as n from public.tenants",
    );
    expect(Number(n)).toBeGreaterThan(0);
  });

  it("never the source, never a database with things in it, by accident", async () => {
    const source = await runCli(["restore", id, "--to", "staging"], { cwd: work.dir });
    expect(source.exitCode).toBe(2);
    expect(source.stderr).toContain(`is the database backup ${id} was taken from`);
    expect(source.stderr).toContain("--in-place --confirm postgres");
    const busy = await runCli(["restore", id, "--to-url", pg15.url("busy")], { cwd: work.dir });
    expect(busy.exitCode).toBe(2);
    expect(busy.stderr).toContain("is not empty: table public.leftover");
    const unconfirmed = await runCli(["restore", id, "--to-url", pg15.url("busy"), "--in-place"], {
      cwd: work.dir,
    });
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toContain("type its name to confirm");
    const wrong = await runCli(
      ["restore", id, "--to-url", pg15.url("busy"), "--in-place", "--confirm", "postgres"],
      { cwd: work.dir },
    );
    expect(wrong.stderr).toContain("--confirm postgres doesn't name the target database, which is busy");
    const approval = await runCli(
      ["restore", id, "--to-url", pg15.url("busy"), "--in-place", "--confirm", "busy"],
      { cwd: work.dir },
    );
    expect(approval.exitCode).toBe(2);
    expect(approval.stderr).toContain("An in-place restore needs a second person's approval");
    expect((await inventory(pg15.url("busy"))).objects).toEqual(["table public.leftover"]);
  });

  it("a target older than the backup's server is refused with both versions", async () => {
    const r = await runCli(["restore", id, "--to-url", pg14.url("fresh")], { cwd: work.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/The target runs Postgres 14\.\d+, older than the backup's server \(15\.\d+\)/);
  });

  it("roles the dump needs are listed, and --create-roles creates them without a login", async () => {
    const refused = await runCli(["restore", id, "--to-url", pg16.url()], { cwd: work.dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/refers to roles the target lacks: .*anon/);
    const r = await runCli(["restore", id, "--to-url", pg16.url(), "--create-roles"], { cwd: work.dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/roles\s+created \(NOLOGIN\): .*anon/);
    const [anon] = await sql<{ rolcanlogin: boolean }>(
      pg16.url(),
      "select rolcanlogin from pg_roles where rolname = 'anon'",
    );
    expect(anon?.rolcanlogin).toBe(false);
  });

  it("Ctrl-C stops pg_restore and says the target is partly restored", async () => {
    const big = await runCli(["big", "slow"], { cwd: work.dir });
    expect(big.exitCode, big.stderr).toBe(0);
    const bigId = readdirSync(path.join(work.dir, "backups")).find((n) => n.endsWith("_big_slow")) ?? "";
    const running = startCli(["restore", bigId, "--to-url", pg15.url("fresh2"), "--jobs", "1"], {
      cwd: work.dir,
    });
    let stderr = "";
    running.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const deadline = Date.now() + 30_000;
    while (!/restoring: \d+ of \d+ tables/.test(stderr) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    running.kill("SIGINT");
    const r = await running;
    expect(r.exitCode).toBe(130);
    expect(String(r.stderr)).toContain("was cancelled: the target is partly restored");
    expect(String(r.stderr)).toContain("Drop and recreate that database");
    expect(commandLinesOf("pg_restore").filter((l) => l.includes("fresh2"))).toEqual([]);
  });
});
