import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { loadFixture } from "../helpers/postgres.js";

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
