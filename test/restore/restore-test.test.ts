import { copyFileSync, readFileSync, truncateSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupFacts } from "../../src/backup/backup-facts.js";
import { readManifest } from "../../src/backup/manifest.js";
import { runBackup } from "../../src/backup/pipeline.js";
import { loadConfig } from "../../src/config.js";
import { runRestoreTest } from "../../src/restore/restore-test.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { readAnnotations } from "../../src/state/annotations.js";
import { readDrills } from "../../src/state/drill-log.js";
import { workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";
import { stateOf } from "../helpers/state.js";

describe("restore test (stage 3) of a Supabase-shaped Postgres 15 backup", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  const config = () => loadConfig({ cwd: work.dir, env: { DATABASE_URL_STAGING: server.url() } });
  const backup = async (label: string) =>
    (await runBackup({ config: config(), label, requestedBy: "tester" })).dir;

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await loadFixture(server.url(), "supabase");
    work = workdir();
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("restores with full parity, records stage 3 and a drill", async () => {
    const dir = await backup("good");
    const outcome = await runRestoreTest({
      config: config(),
      ref: "latest",
      requestedBy: "alice",
      cwd: work.dir,
    });
    const failed = outcome.parity.filter((p) => p.result === "failed");
    expect(failed).toEqual([]);
    expect(outcome.ok).toBe(true);
    expect(outcome.dir).toBe(dir);
    const tables = outcome.parity.filter((p) => p.kind === "table");
    expect(tables.find((t) => t.name === "auth.users")).toMatchObject({
      expected: "200",
      actual: "200",
      result: "ok",
    });
    expect(outcome.parity.find((p) => p.name === "public.my_documents")).toMatchObject({
      expected: "{security_invoker=true}",
      result: "ok",
    });
    expect(outcome.parity.find((p) => p.kind === "policies")).toMatchObject({ expected: "11", actual: "11" });
    const manifest = await readManifest(dir);
    const state = stateOf(path.join(work.dir, "backups"));
    const annotation = (await readAnnotations(state))[manifest.id];
    expect(backupFacts(manifest, annotation).stage).toBe("restored");
    expect(annotation?.restoreTest).toMatchObject({ ok: true, by: "alice", serverMajor: 15 });
    // The backup's folder is as it was filed: the result lives in the state.
    expect(manifest.restoreTest).toBeUndefined();
    const drills = await readDrills(state);
    expect(drills.at(-1)).toMatchObject({ backupId: manifest.id, by: "alice", ok: true, env: "staging" });
  });

  it("fails when the dump's data differs from what the manifest recorded, naming the table", async () => {
    const dir = await backup("recorded");
    await sql(server.url(), "insert into public.tenants (name, slug) values ('Extra', 'extra')");
    const other = await backup("changed");
    copyFileSync(path.join(other, "db_full.dump"), path.join(dir, "db_full.dump"));
    const id = path.basename(dir);
    const outcome = await runRestoreTest({ config: config(), ref: id, requestedBy: "bob", cwd: work.dir });
    expect(outcome.ok).toBe(false);
    const tenants = outcome.parity.find((p) => p.name === "public.tenants");
    expect(tenants).toMatchObject({ expected: "12", actual: "13", result: "failed" });
    const manifest = await readManifest(dir);
    const state = stateOf(path.join(work.dir, "backups"));
    const annotation = (await readAnnotations(state))[id];
    expect(backupFacts(manifest, annotation).stage).toBe("readable");
    expect(annotation?.restoreTest?.ok).toBe(false);
    expect((await readDrills(state)).at(-1)).toMatchObject({ backupId: id, ok: false });
  });

  it("fails on a truncated dump and says pg_restore could not read it", async () => {
    const dir = await backup("truncated");
    const dump = path.join(dir, "db_full.dump");
    truncateSync(dump, Math.floor(readFileSync(dump).length / 2));
    const outcome = await runRestoreTest({ config: config(), ref: dir, requestedBy: "carol", cwd: work.dir });
    expect(outcome.ok).toBe(false);
    const errors = outcome.parity.filter((p) => p.kind === "error" && p.result === "failed");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.actual).join("\n")).toMatch(/end of file|could not read|unexpected/i);
  });
});
