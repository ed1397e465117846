import { copyFileSync, cpSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
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

  it("a dump swapped after the backup was taken: says the files changed and restores nothing", async () => {
    const dir = await backup("recorded");
    await sql(server.url(), "insert into public.tenants (name, slug) values ('Extra', 'extra')");
    const other = await backup("changed");
    copyFileSync(path.join(other, "db_full.dump"), path.join(dir, "db_full.dump"));
    const id = path.basename(dir);
    const events: string[] = [];
    const outcome = await runRestoreTest({
      config: config(),
      ref: id,
      requestedBy: "bob",
      cwd: work.dir,
      onEvent: (e) => {
        if (e.type === "step") events.push(`${e.step} ${e.status}`);
      },
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.parity).toEqual([
      {
        kind: "file",
        name: "db_full.dump",
        expected: "as recorded when the backup was taken",
        actual: expect.stringMatching(/^sha256 [0-9a-f]{12} differs from recorded [0-9a-f]{12}$/),
        result: "failed",
        note: "the files changed since the backup was taken; nothing was restored",
      },
    ]);
    // Not a row-count difference, and no restore at all.
    expect(events).not.toContain("restore started");
    const state = stateOf(path.join(work.dir, "backups"));
    expect((await readAnnotations(state))[id]?.restoreTest?.ok).toBe(false);
    expect((await readDrills(state)).at(-1)).toMatchObject({ backupId: id, ok: false, ofBackup: true });
  });

  it("an edited views_reloptions.tsv is a changed file, not a view that lost security_invoker", async () => {
    const dir = await backup("views-edited");
    const file = path.join(dir, "views_reloptions.tsv");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(/security_invoker=true/g, "security_invoker=false"),
    );
    const outcome = await runRestoreTest({
      config: config(),
      ref: path.basename(dir),
      requestedBy: "bob",
      cwd: work.dir,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.parity.map((p) => [p.kind, p.name, p.result])).toEqual([
      ["file", "views_reloptions.tsv", "failed"],
    ]);
  });

  it("fails when the restored data differs from what the manifest recorded, naming the table", async () => {
    const dir = await backup("recorded-rows");
    const file = path.join(dir, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as {
      catalog: { tables: { name: string; rows: number }[] };
    };
    const tenants = manifest.catalog.tables.find((t) => t.name === "tenants");
    if (!tenants) throw new Error("no tenants table");
    tenants.rows += 1;
    writeFileSync(file, JSON.stringify(manifest));
    const id = path.basename(dir);
    const outcome = await runRestoreTest({ config: config(), ref: id, requestedBy: "bob", cwd: work.dir });
    expect(outcome.ok).toBe(false);
    expect(outcome.parity.find((p) => p.name === "public.tenants")).toMatchObject({
      expected: String(tenants.rows),
      actual: String(tenants.rows - 1),
      result: "failed",
    });
    const state = stateOf(path.join(work.dir, "backups"));
    const annotation = (await readAnnotations(state))[id];
    expect(backupFacts(await readManifest(dir), annotation).stage).toBe("readable");
    expect(annotation?.restoreTest?.ok).toBe(false);
    expect((await readDrills(state)).at(-1)).toMatchObject({ backupId: id, ok: false });
  });

  it("a truncated dump is a changed file too", async () => {
    const dir = await backup("truncated");
    const dump = path.join(dir, "db_full.dump");
    truncateSync(dump, Math.floor(readFileSync(dump).length / 2));
    const outcome = await runRestoreTest({ config: config(), ref: dir, requestedBy: "carol", cwd: work.dir });
    expect(outcome.ok).toBe(false);
    expect(outcome.parity.map((p) => [p.kind, p.name])).toEqual([["file", "db_full.dump"]]);
  });

  it("a copy of a backup elsewhere is tested and logged as that folder, credited to no backup", async () => {
    const dir = await backup("copied");
    const copy = path.join(work.dir, "copy-of-backup");
    cpSync(dir, copy, { recursive: true });
    const outcome = await runRestoreTest({ config: config(), ref: copy, requestedBy: "dave", cwd: work.dir });
    expect(outcome).toMatchObject({ ok: true, recorded: false });
    const state = stateOf(path.join(work.dir, "backups"));
    expect((await readAnnotations(state))[path.basename(dir)]?.restoreTest).toBeUndefined();
    expect((await readDrills(state)).at(-1)).toMatchObject({
      backupId: path.basename(dir),
      dir: copy,
      dumpSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      ofBackup: false,
    });
  });
});
