import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listBackups } from "../../src/backup/catalog.js";
import { manifestSchema } from "../../src/backup/manifest.js";
import { type Annotation, annotate } from "../../src/state/annotations.js";
import { tryLock } from "../../src/state/locks.js";
import { dateOfId, makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { stateOf } from "../helpers/state.js";

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-catalog-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function backup(id: string): string {
  return writeBackupFolder(root, makeManifest(id));
}

describe("the manifest factory (test/helpers/manifest.ts)", () => {
  it("builds manifests that pass the real schema", () => {
    for (const id of [
      "20261123_203000_staging",
      "20261123_203000_prod_pre-upgrade",
      "20261123_203000_adhoc_x",
    ]) {
      const result = manifestSchema.safeParse(makeManifest(id));
      expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
    }
  });

  it("takes env, label and times from the id", () => {
    const m = makeManifest("20261123_203000_eu-prod_pre-upgrade");
    expect(m).toMatchObject({ env: "eu-prod", label: "pre-upgrade", source: "DATABASE_URL_EU_PROD" });
    expect(m.startedAt).toBe("2026-11-23T20:30:00.000Z");
    expect(dateOfId(m.id).toISOString()).toBe(m.startedAt);
    expect(makeManifest("20261123_203000_staging").label).toBeNull();
  });
});

describe("listBackups", () => {
  it("lists every env alphabetically, newest first within each", async () => {
    backup("20261101_090000_staging");
    backup("20261120_100000_staging_pre-upgrade");
    backup("20261110_080000_staging_migration-42");
    backup("20261105_120000_prod_pre-upgrade");
    backup("20261121_120000_prod");
    backup("20261119_000000_eu-prod_x");
    const listing = await listBackups(root, stateOf(root));
    expect(listing.backups.map((b) => b.id)).toEqual([
      "20261119_000000_eu-prod_x",
      "20261121_120000_prod",
      "20261105_120000_prod_pre-upgrade",
      "20261120_100000_staging_pre-upgrade",
      "20261110_080000_staging_migration-42",
      "20261101_090000_staging",
    ]);
    expect(listing.unreadable).toEqual([]);
    expect(listing.running).toEqual([]);
  });

  it("gives what list shows: label, size, stage, who, when, folder", async () => {
    const dir = backup("20261120_100000_staging_pre-upgrade");
    const [b] = (await listBackups(root, stateOf(root))).backups;
    expect(b).toEqual({
      id: "20261120_100000_staging_pre-upgrade",
      env: "staging",
      label: "pre-upgrade",
      dir,
      requestedBy: "alice",
      finishedAt: "2026-11-20T10:00:42.000Z",
      totalBytes: makeManifest("20261120_100000_staging_pre-upgrade").totalBytes,
      serverVersion: expect.stringContaining("PostgreSQL 15.18"),
      stage: "readable",
    });
  });

  it("carries a failed re-verify, so list can warn about it", async () => {
    writeBackupFolder(
      root,
      makeManifest("20261120_100000_prod", {
        verification: { lastVerify: { at: "2026-11-21T00:00:00.000Z", ok: false, by: "bob" } },
      }),
    );
    const [b] = (await listBackups(root, stateOf(root))).backups;
    expect(b?.lastVerify).toEqual({ at: "2026-11-21T00:00:00.000Z", ok: false });
  });

  it("filters by env, exactly (prod does not match eu-prod)", async () => {
    backup("20261121_120000_prod");
    backup("20261119_000000_eu-prod_x");
    backup("20261120_100000_staging");
    const listing = await listBackups(root, stateOf(root), "prod");
    expect(listing.backups.map((b) => b.id)).toEqual(["20261121_120000_prod"]);
    expect((await listBackups(root, stateOf(root), "eu-prod")).backups.map((b) => b.id)).toEqual([
      "20261119_000000_eu-prod_x",
    ]);
    expect((await listBackups(root, stateOf(root), "qa")).backups).toEqual([]);
  });

  it("reports folders with a missing, broken or foreign manifest as unreadable and never lists them", async () => {
    backup("20261121_120000_staging");
    mkdirSync(path.join(root, "20261122_000000_staging_no-manifest"));
    mkdirSync(path.join(root, "20261122_010000_staging_bad-json"));
    writeFileSync(path.join(root, "20261122_010000_staging_bad-json", "manifest.json"), "{ half a manif");
    mkdirSync(path.join(root, "20261122_020000_staging_foreign"));
    writeFileSync(
      path.join(root, "20261122_020000_staging_foreign", "manifest.json"),
      JSON.stringify({ hello: 1 }),
    );
    const listing = await listBackups(root, stateOf(root));
    expect(listing.backups.map((b) => b.id)).toEqual(["20261121_120000_staging"]);
    const reasons = Object.fromEntries(listing.unreadable.map((u) => [path.basename(u.dir), u.reason]));
    expect(reasons).toEqual({
      "20261122_000000_staging_no-manifest": "no manifest.json",
      "20261122_010000_staging_bad-json": "manifest.json is not valid JSON",
      "20261122_020000_staging_foreign": "manifest.json is not a dbbackup manifest",
    });
    for (const u of listing.unreadable) expect(path.dirname(u.dir)).toBe(root);
  });

  it("applies the env filter to unreadable folders too", async () => {
    mkdirSync(path.join(root, "20261122_000000_staging_no-manifest"));
    expect((await listBackups(root, stateOf(root), "prod")).unreadable).toEqual([]);
  });

  it("never lists a hidden in-progress folder, even one holding a complete manifest", async () => {
    const id = "20261122_000000_staging_pre-upgrade";
    writeBackupFolder(root, makeManifest(id), `.inprogress-${id}`);
    mkdirSync(path.join(root, ".inprogress-20261122_010000_prod"));
    const listing = await listBackups(root, stateOf(root));
    expect(listing.backups).toEqual([]);
    expect(listing.unreadable).toEqual([]);
  });

  it("shows a run in progress from its env lock, and not one whose instance is dead", async () => {
    const id = "20261122_000000_staging_pre-upgrade";
    mkdirSync(path.join(root, `.inprogress-${id}`));
    const state = stateOf(root);
    const attempt = await tryLock(state, {
      name: "backup:staging",
      jobId: "j1",
      requestedBy: "bob",
      what: id,
    });
    if (!("held" in attempt)) throw new Error("lock not taken");
    const listing = await listBackups(root, state);
    expect(listing.running).toEqual([
      { env: "staging", id, requestedBy: "bob", startedAt: attempt.held.record.startedAt },
    ]);
    expect(listing.backups).toEqual([]);
    expect((await listBackups(root, state, "prod")).running).toEqual([]);
    await attempt.held.release();
    expect((await listBackups(root, state)).running).toEqual([]);
    // A lock whose instance left no lease (killed long ago) is not a running backup.
    mkdirSync(path.join(root, ".state"), { recursive: true });
    writeFileSync(
      path.join(root, ".state", "locks.json"),
      JSON.stringify({
        locks: {
          "backup:prod": {
            name: "backup:prod",
            instance: "0123456789abcdef",
            pid: 1,
            host: "gone",
            jobId: "j2",
            requestedBy: "carol",
            startedAt: "2026-11-22T00:00:00.000Z",
            what: "20261122_000000_prod",
          },
        },
      }),
    );
    expect((await listBackups(root, state)).running).toEqual([]);
  });

  it("never lists a symbolic link as a backup, even to a real backup folder; reports it", async () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), "dbbackup-elsewhere-"));
    try {
      const target = writeBackupFolder(elsewhere, makeManifest("20261121_120000_staging"));
      symlinkSync(target, path.join(root, "20261121_120000_staging"));
      const listing = await listBackups(root, stateOf(root));
      expect(listing.backups).toEqual([]);
      expect(listing.unreadable).toEqual([
        {
          dir: path.join(root, "20261121_120000_staging"),
          reason: "a symbolic link, not a backup folder (dbbackup never follows them)",
        },
      ]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("ignores other things in the backups folder", async () => {
    backup("20261121_120000_staging");
    mkdirSync(path.join(root, ".logs"));
    writeFileSync(path.join(root, ".logs", "20261121_120000_staging.log"), "log");
    mkdirSync(path.join(root, "old stuff"));
    writeFileSync(path.join(root, "README.txt"), "hi");
    const listing = await listBackups(root, stateOf(root));
    expect(listing.backups.map((b) => b.id)).toEqual(["20261121_120000_staging"]);
    expect(listing.unreadable).toEqual([]);
  });

  it("gives an empty listing when the backups folder does not exist yet", async () => {
    expect(await listBackups(path.join(root, "missing"), stateOf(path.join(root, "missing")))).toEqual({
      backups: [],
      unreadable: [],
      running: [],
    });
  });
});

describe("listBackups' summary cache (.list-index.json)", () => {
  it("sees a manifest rewritten after it was cached (verify's result, a new label)", async () => {
    const dir = backup("20261120_100000_staging_pre-upgrade");
    expect((await listBackups(root, stateOf(root))).backups[0]?.lastVerify).toBeUndefined();
    const changed = makeManifest("20261120_100000_staging_pre-upgrade");
    changed.verification.lastVerify = { at: "2026-11-21T00:00:00.000Z", ok: false, by: "tester" };
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(changed, null, 2));
    const again = await listBackups(root, stateOf(root));
    expect(again.backups[0]?.lastVerify).toEqual({ at: "2026-11-21T00:00:00.000Z", ok: false });
  });

  it("drops a deleted backup and survives a corrupt cache", async () => {
    backup("20261120_100000_staging_a");
    const gone = backup("20261121_100000_staging_b");
    expect((await listBackups(root, stateOf(root))).backups).toHaveLength(2);
    rmSync(gone, { recursive: true });
    expect((await listBackups(root, stateOf(root))).backups.map((b) => b.id)).toEqual([
      "20261120_100000_staging_a",
    ]);
    writeFileSync(path.join(root, ".list-index.json"), "{ not json");
    expect((await listBackups(root, stateOf(root))).backups.map((b) => b.id)).toEqual([
      "20261120_100000_staging_a",
    ]);
  });

  it("keeps other envs cached while listing one", async () => {
    backup("20261120_100000_staging_a");
    backup("20261120_100000_prod_a");
    await listBackups(root, stateOf(root), "staging");
    await listBackups(root, stateOf(root), "prod");
    const index = JSON.parse(readFileSync(path.join(root, ".list-index.json"), "utf8")) as {
      entries: Record<string, unknown>;
    };
    expect(Object.keys(index.entries).sort()).toEqual([
      "20261120_100000_prod_a",
      "20261120_100000_staging_a",
    ]);
  });
});

/** Lays `fields` over what the state says about backup `id`, as keep, verify and restore-test do. */
function note(state: ReturnType<typeof stateOf>, id: string, fields: Annotation): Promise<void> {
  return annotate(
    state,
    id,
    async () => {},
    (a) => ({ next: { ...a, ...fields }, result: undefined }),
  );
}

describe("listBackups: pins", () => {
  const PIN = { reason: "before tenant split", by: "alice", at: "2026-11-21T09:00:00.000Z" };

  it("carries a pin (dbbackup keep) so list can show it, and none for unpinned backups", async () => {
    writeBackupFolder(root, makeManifest("20261120_100000_prod", { pin: PIN }));
    backup("20261121_100000_prod");
    const [newer, pinned] = (await listBackups(root, stateOf(root))).backups;
    expect(pinned?.pin).toEqual(PIN);
    expect(newer && "pin" in newer).toBe(false);
  });

  it("sees a pin added and removed in the state after the summary was cached", async () => {
    const id = "20261120_100000_prod";
    backup(id);
    const state = stateOf(root);
    expect((await listBackups(root, state)).backups[0]?.pin).toBeUndefined();
    await note(state, id, { pin: PIN });
    expect((await listBackups(root, state)).backups[0]?.pin).toEqual(PIN);
    // …and from the cache too, on the next run.
    expect((await listBackups(root, state)).backups[0]?.pin).toEqual(PIN);
    await note(state, id, { pin: null });
    expect((await listBackups(root, state)).backups[0]?.pin).toBeUndefined();
  });

  it("lets an unpin in the state override a pin an earlier version wrote into manifest.json", async () => {
    const id = "20261120_100000_prod";
    writeBackupFolder(root, makeManifest(id, { pin: PIN }));
    const state = stateOf(root);
    expect((await listBackups(root, state)).backups[0]?.pin).toEqual(PIN);
    await note(state, id, { pin: null });
    expect((await listBackups(root, state)).backups[0]?.pin).toBeUndefined();
  });

  it("shows stage 3 from a passed restore test in the state, and back to 2 after a failed one", async () => {
    const id = "20261120_100000_prod";
    backup(id);
    const state = stateOf(root);
    const test = (ok: boolean) => ({
      at: "2026-11-21T00:00:00.000Z",
      by: "t",
      ok,
      ms: 1,
      serverMajor: 15,
      parity: [],
    });
    await note(state, id, { restoreTest: test(true) });
    expect((await listBackups(root, state)).backups[0]?.stage).toBe("restored");
    await note(state, id, { restoreTest: test(false) });
    expect((await listBackups(root, state)).backups[0]?.stage).toBe("readable");
  });
});
