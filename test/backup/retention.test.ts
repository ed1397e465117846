import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findBackups } from "../../src/backup/backup-folders.js";
import { parseBackupId } from "../../src/backup/ids.js";
import { executeRetention, gatherFacts } from "../../src/backup/prune-run.js";
import { markInUse } from "../../src/backup/restore-lock.js";
import {
  planRetention,
  type RetentionBackup,
  type RetentionDecision,
  type RetentionFacts,
  type RetentionRules,
  type RunningBackup,
} from "../../src/backup/retention.js";
import { annotate } from "../../src/state/annotations.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { foreignLock, stateOf } from "../helpers/state.js";

const RUNBOOK: RetentionRules = { keepOnDemand: 5, keepPreUpgrade: 2 };
const NO_FACTS: RetentionFacts = { running: new Map(), inUse: new Set() };
const TARGET = "postgresql://postgres.abcd:****@aws-0-eu-central-1.pooler.supabase.com:5432/postgres";

/** A backup as retention sees it: env and label from the id, verified to stage 2 unless told. */
function b(id: string, extra: Partial<RetentionBackup> = {}): RetentionBackup {
  const parsed = parseBackupId(id);
  if (!parsed) throw new Error(`not a backup id: ${id}`);
  return { id, env: parsed.env, label: parsed.label ?? null, target: TARGET, stage: "readable", ...extra };
}

/** `n` backups of env (label optional), one a day from 2026-11-01, oldest first. */
function series(env: string, n: number, label?: string, hour = "10"): RetentionBackup[] {
  return Array.from({ length: n }, (_, i) =>
    b(`202611${String(i + 1).padStart(2, "0")}_${hour}0000_${env}${label ? `_${label}` : ""}`),
  );
}

function deleted(plan: RetentionDecision[]): string[] {
  return plan.filter((d) => d.action === "delete").map((d) => d.id);
}
function kept(plan: RetentionDecision[]): string[] {
  return plan.filter((d) => d.action === "keep").map((d) => d.id);
}
function decision(plan: RetentionDecision[], id: string): RetentionDecision {
  const d = plan.find((x) => x.id === id);
  if (!d) throw new Error(`no decision for ${id}`);
  return d;
}

function running(env: string, id: string): RetentionFacts {
  const run: RunningBackup = { id, requestedBy: "bob", startedAt: "2026-11-23T22:00:00.000Z" };
  return { running: new Map([[env, run]]), inUse: new Set() };
}

describe("planRetention: the runbook's counts, per env", () => {
  it("keeps the last 5 on-demand and the last 2 pre-upgrade backups, counted apart (mixed labels)", () => {
    const backups = [
      b("20261101_100000_staging"),
      b("20261102_100000_staging_migration-42"),
      b("20261103_100000_staging_pre-upgrade"),
      b("20261104_100000_staging"),
      b("20261105_100000_staging_tenant.split"),
      b("20261106_100000_staging_pre-upgrade"),
      b("20261107_100000_staging"),
      b("20261108_100000_staging_pre-upgrade"),
      b("20261109_100000_staging_manual"),
    ];
    const plan = planRetention(backups, RUNBOOK, NO_FACTS);
    // On-demand, newest first: 09 manual, 07, 05 tenant.split, 04, 02 migration-42 | 01.
    // Pre-upgrade: 08, 06 | 03.
    expect(deleted(plan)).toEqual(["20261103_100000_staging_pre-upgrade", "20261101_100000_staging"]);
    expect(decision(plan, "20261101_100000_staging").reason).toBe("older than the last 5 on-demand backups");
    expect(decision(plan, "20261103_100000_staging_pre-upgrade").reason).toBe(
      "older than the last 2 pre-upgrade backups",
    );
    expect(decision(plan, "20261102_100000_staging_migration-42")).toMatchObject({
      action: "keep",
      rule: "recent",
      reason: "5th of the last 5 on-demand backups",
    });
    expect(decision(plan, "20261106_100000_staging_pre-upgrade").reason).toBe(
      "2nd of the last 2 pre-upgrade backups",
    );
  });

  it("gives every backup exactly one decision, env by env, newest first", () => {
    const backups = [...series("staging", 3), ...series("prod", 2), ...series("eu-prod", 1)];
    const plan = planRetention([...backups].reverse(), RUNBOOK, NO_FACTS);
    expect(plan.map((d) => d.id)).toEqual([
      "20261101_100000_eu-prod",
      "20261102_100000_prod",
      "20261101_100000_prod",
      "20261103_100000_staging",
      "20261102_100000_staging",
      "20261101_100000_staging",
    ]);
  });

  it("counts each env on its own (several envs; prod is not eu-prod)", () => {
    const plan = planRetention(
      [
        ...series("staging", 6),
        ...series("prod", 7),
        ...series("eu-prod", 5),
        ...series("prod", 3, "pre-upgrade"),
      ],
      RUNBOOK,
      NO_FACTS,
    );
    expect(deleted(plan)).toEqual([
      "20261102_100000_prod",
      "20261101_100000_prod_pre-upgrade",
      "20261101_100000_prod",
      "20261101_100000_staging",
    ]);
  });

  it("takes the counts from the rules (DBBACKUP_KEEP_ON_DEMAND / _PRE_UPGRADE)", () => {
    const backups = [...series("staging", 3), ...series("staging", 3, "pre-upgrade", "12")];
    const plan = planRetention(backups, { keepOnDemand: 1, keepPreUpgrade: 3 }, NO_FACTS);
    expect(deleted(plan)).toEqual(["20261102_100000_staging", "20261101_100000_staging"]);
    expect(decision(plan, "20261103_100000_staging").reason).toBe("1st of the last 1 on-demand backups");
  });

  it("deletes nothing when there are no more than the counts", () => {
    const plan = planRetention(
      [...series("staging", 5), ...series("staging", 2, "pre-upgrade", "12")],
      RUNBOOK,
      NO_FACTS,
    );
    expect(deleted(plan)).toEqual([]);
    expect(plan).toHaveLength(7);
  });

  it("orders by the id's timestamp, not by the order given", () => {
    const backups = series("staging", 6).reverse();
    expect(deleted(planRetention(backups, RUNBOOK, NO_FACTS))).toEqual(["20261101_100000_staging"]);
  });
});

describe("planRetention: failed backups", () => {
  it("never let a failed backup take a good one's slot", () => {
    const backups = [
      ...series("staging", 6), // good, 01…06
      b("20261107_100000_staging", { stage: null }),
      b("20261108_100000_staging", { stage: "dumped" }),
      b("20261109_100000_staging", { lastVerify: { ok: false, at: "2026-11-10T00:00:00.000Z" } }),
      b("20261110_100000_staging", { restoreTest: { ok: false, at: "2026-11-11T00:00:00.000Z" } }),
    ];
    const plan = planRetention(backups, RUNBOOK, NO_FACTS);
    // The last 5 good ones (02…06) stay although four failed ones are newer; 01 is the 6th good one.
    expect(deleted(plan)).toEqual(["20261101_100000_staging"]);
    expect(decision(plan, "20261102_100000_staging").reason).toBe("5th of the last 5 on-demand backups");
    expect(decision(plan, "20261107_100000_staging").reason).toBe(
      "it never passed verification; kept until 5 newer good on-demand backups exist (0 so far)",
    );
    expect(decision(plan, "20261108_100000_staging").reason).toContain("it never passed stage 2 (readable)");
    expect(decision(plan, "20261109_100000_staging").reason).toContain("its re-verify failed (2026-11-10)");
    expect(decision(plan, "20261110_100000_staging").reason).toContain(
      "its restore test failed (2026-11-11)",
    );
  });

  it("deletes a failed backup once as many good ones are newer as the count keeps", () => {
    const backups = [
      b("20261101_100000_staging", { stage: null }),
      b("20261102_100000_staging_pre-upgrade", { stage: "dumped" }),
      ...series("staging", 5).map((x) => ({ ...x, id: x.id.replace("202611", "202612") })),
      b("20261203_120000_staging_pre-upgrade"),
      b("20261204_120000_staging_pre-upgrade"),
    ];
    const plan = planRetention(backups, RUNBOOK, NO_FACTS);
    expect(deleted(plan)).toEqual(["20261102_100000_staging_pre-upgrade", "20261101_100000_staging"]);
    expect(decision(plan, "20261101_100000_staging").reason).toBe(
      "it never passed verification, and 5 newer good on-demand backups are kept",
    );
  });
});

describe("planRetention: what is never deleted", () => {
  it("a pinned backup, however old, without taking a slot from the last 5", () => {
    const backups = series("staging", 8);
    backups[0] = {
      ...backups[0]!,
      pin: { reason: "before tenant split", by: "alice", at: "2026-11-02T00:00:00Z" },
    };
    const plan = planRetention(backups, RUNBOOK, NO_FACTS);
    expect(decision(plan, "20261101_100000_staging")).toMatchObject({
      action: "keep",
      rule: "pinned",
      reason: 'pinned by alice: "before tenant split"',
    });
    expect(deleted(plan)).toEqual(["20261103_100000_staging", "20261102_100000_staging"]);
    expect(kept(plan)).toHaveLength(6);
  });

  it("a pinned backup with no reason says who pinned it", () => {
    const pinned = b("20261101_100000_staging", {
      pin: { reason: "", by: "bob", at: "2026-11-02T00:00:00Z" },
    });
    const plan = planRetention(
      [pinned, ...series("staging", 7).slice(1)],
      { keepOnDemand: 1, keepPreUpgrade: 1 },
      NO_FACTS,
    );
    expect(decision(plan, pinned.id).reason).toBe("pinned by bob");
  });

  it("a backup a restore test is reading", () => {
    const backups = series("staging", 7);
    const plan = planRetention(backups, RUNBOOK, {
      running: new Map(),
      inUse: new Set(["20261101_100000_staging"]),
    });
    expect(decision(plan, "20261101_100000_staging")).toMatchObject({
      action: "keep",
      rule: "in_use",
      reason: "a restore test is reading it",
    });
    expect(deleted(plan)).toEqual(["20261102_100000_staging"]);
  });

  it("the env's newest backup verified to stage 2 or 3, even when the counts keep none", () => {
    const backups = [
      b("20261101_100000_staging", { stage: "restored" }),
      b("20261102_100000_staging_pre-upgrade"),
      b("20261103_100000_staging", { stage: "readable" }),
      b("20261104_100000_staging", { stage: null }),
      b("20261105_100000_staging", { lastVerify: { ok: false, at: "2026-11-06T00:00:00.000Z" } }),
      b("20261101_100000_prod", { stage: "restored" }),
      b("20261102_100000_prod", { stage: "dumped" }),
    ];
    const plan = planRetention(backups, { keepOnDemand: 0, keepPreUpgrade: 0 }, NO_FACTS);
    expect(kept(plan)).toEqual(["20261101_100000_prod", "20261103_100000_staging"]);
    expect(decision(plan, "20261103_100000_staging")).toMatchObject({
      rule: "newest_verified",
      reason: "the newest staging backup verified to stage 2 or 3",
    });
    expect(decision(plan, "20261101_100000_staging").reason).toBe(
      "on-demand backups are not kept (the count is 0)",
    );
  });

  it("nothing at all of an env while a backup of it runs; other envs are pruned as usual", () => {
    const backups = [
      ...series("staging", 9),
      b("20261110_100000_staging", { stage: null }),
      ...series("prod", 6),
    ];
    const plan = planRetention(backups, RUNBOOK, running("staging", "20261123_220000_staging_pre-upgrade"));
    expect(deleted(plan)).toEqual(["20261101_100000_prod"]);
    for (const d of plan.filter((x) => x.env === "staging")) {
      expect(d).toMatchObject({ action: "keep", rule: "running" });
      expect(d.reason).toBe(
        "a staging backup is running (20261123_220000_staging_pre-upgrade, started by bob): nothing of staging is touched meanwhile",
      );
    }
  });

  it("a pinned, in-use or newest-verified backup stays even while its env runs (and says the env runs)", () => {
    const backups = [
      b("20261101_100000_staging", { pin: { reason: "x", by: "a", at: "2026-11-01T00:00:00Z" } }),
    ];
    const plan = planRetention(backups, RUNBOOK, running("staging", "20261123_220000_staging"));
    expect(decision(plan, "20261101_100000_staging").rule).toBe("running");
  });
});

describe("planRetention: adhoc (--url) backups", () => {
  const OTHER = "postgresql://app:****@10.0.0.7:5432/app";

  it("are counted per database, so one database's backups never push out another's", () => {
    const a = series("adhoc", 6, "manual");
    const other = [b("20261120_100000_adhoc_manual", { target: OTHER })];
    const plan = planRetention([...a, ...other], RUNBOOK, NO_FACTS);
    expect(deleted(plan)).toEqual(["20261101_100000_adhoc_manual"]);
    expect(decision(plan, "20261101_100000_adhoc_manual").reason).toBe(
      "older than the last 5 on-demand backups of this database",
    );
    expect(decision(plan, "20261120_100000_adhoc_manual").action).toBe("keep");
  });

  it("keep each database's newest verified backup", () => {
    const plan = planRetention(
      [b("20261101_100000_adhoc"), b("20261102_100000_adhoc", { target: OTHER })],
      { keepOnDemand: 0, keepPreUpgrade: 0 },
      NO_FACTS,
    );
    expect(kept(plan)).toEqual(["20261102_100000_adhoc", "20261101_100000_adhoc"]);
  });

  it("are all kept while an adhoc backup runs", () => {
    const plan = planRetention(series("adhoc", 7), RUNBOOK, running("adhoc", "20261123_220000_adhoc"));
    expect(deleted(plan)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-retention-"));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function backup(id: string, overrides: Parameters<typeof makeManifest>[1] = {}): string {
  return writeBackupFolder(root, makeManifest(id, overrides));
}

function writeLock(env: string, alive: boolean, id: string): Promise<unknown> {
  return foreignLock(root, `backup:${env}`, { alive, what: id });
}

describe("findBackups: only dbbackup backups, everything else reported", () => {
  it("reads real backups and reports, without touching, everything that is not one", async () => {
    backup("20261101_100000_staging");
    backup("20261102_100000_prod_pre-upgrade", {
      pin: { reason: "r", by: "alice", at: "2026-11-03T00:00:00Z" },
    });
    mkdirSync(path.join(root, "20261103_100000_staging_no-manifest"));
    writeBackupFolder(root, makeManifest("20261104_100000_staging"), "20261104_100000_staging_renamed");
    writeBackupFolder(root, makeManifest("20261105_100000_prod"), "20261105_100000_staging");
    mkdirSync(path.join(root, "20261106_100000_staging_bad-json"));
    writeFileSync(path.join(root, "20261106_100000_staging_bad-json", "manifest.json"), "{ half");
    mkdirSync(path.join(root, "20261107_100000_staging_foreign"));
    writeFileSync(path.join(root, "20261107_100000_staging_foreign", "manifest.json"), '{"id":"x"}');
    mkdirSync(path.join(root, "old stuff"));
    writeFileSync(path.join(root, "notes.txt"), "hi");
    writeFileSync(path.join(root, "20261108_100000_staging"), "a file named like a backup");
    const elsewhere = writeBackupFolder(
      mkdtempSync(path.join(os.tmpdir(), "dbbackup-elsewhere-")),
      makeManifest("20261109_100000_staging"),
    );
    symlinkSync(elsewhere, path.join(root, "20261109_100000_staging"));
    mkdirSync(path.join(root, ".logs"));
    mkdirSync(path.join(root, ".inprogress-20261110_100000_staging"));

    const found = await findBackups(root, stateOf(root));
    expect(found.backups.map((x) => x.id)).toEqual([
      "20261101_100000_staging",
      "20261102_100000_prod_pre-upgrade",
    ]);
    expect(found.backups[1]).toMatchObject({
      env: "prod",
      label: "pre-upgrade",
      stage: "readable",
      pin: { reason: "r", by: "alice" },
      dir: path.join(root, "20261102_100000_prod_pre-upgrade"),
    });
    expect(Object.fromEntries(found.ignored.map((i) => [i.name, i.reason]))).toEqual({
      "20261103_100000_staging_no-manifest": "no manifest.json",
      "20261104_100000_staging_renamed": 'manifest.json is for "20261104_100000_staging", not this folder',
      "20261105_100000_staging": 'manifest.json is for "20261105_100000_prod", not this folder',
      "20261106_100000_staging_bad-json": "manifest.json is not valid JSON",
      "20261107_100000_staging_foreign": "manifest.json is not a dbbackup manifest",
      "20261108_100000_staging": "not a folder",
      "20261109_100000_staging": "a symbolic link, not a backup folder",
      "notes.txt": "the name is not a backup id (YYYYMMDD_HHMMSS_env[_label])",
      "old stuff": "the name is not a backup id (YYYYMMDD_HHMMSS_env[_label])",
    });
    rmSync(path.dirname(elsewhere), { recursive: true, force: true });
  });

  it("refuses a manifest whose env or label differ from the folder name", async () => {
    const m = makeManifest("20261101_100000_staging_x");
    writeBackupFolder(root, { ...m, label: "pre-upgrade" });
    expect((await findBackups(root, stateOf(root))).ignored).toEqual([
      {
        name: "20261101_100000_staging_x",
        reason: "manifest.json's env or label differ from the folder name",
      },
    ]);
  });

  it("with an env, looks at that env only", async () => {
    backup("20261101_100000_staging");
    backup("20261101_100000_prod");
    mkdirSync(path.join(root, "20261102_100000_prod_broken"));
    mkdirSync(path.join(root, "junk"));
    const found = await findBackups(root, stateOf(root), "staging");
    expect(found.backups.map((x) => x.id)).toEqual(["20261101_100000_staging"]);
    expect(found.ignored.map((i) => i.name)).toEqual(["junk"]);
  });

  it("finds nothing in a folder that does not exist", async () => {
    expect(await findBackups(path.join(root, "missing"), stateOf(path.join(root, "missing")))).toEqual({
      backups: [],
      ignored: [],
    });
  });
});

describe("gatherFacts", () => {
  it("sees a live env lock and live restore-test markers, not a dead instance's lock", async () => {
    await writeLock("staging", true, "20261123_220000_staging");
    await writeLock("prod", false, "20261123_220000_prod");
    const state = stateOf(root);
    backup("20261101_100000_prod");
    const marker = await markInUse(state, root, "20261101_100000_prod", "carol");
    const facts = await gatherFacts(state, ["staging", "prod", "qa"]);
    expect([...facts.running.keys()]).toEqual(["staging"]);
    expect(facts.running.get("staging")).toMatchObject({ id: "20261123_220000_staging", requestedBy: "bob" });
    expect([...facts.inUse]).toEqual(["20261101_100000_prod"]);
    await marker.release();
    expect((await gatherFacts(state, [])).inUse.size).toBe(0);
  });
});

describe("executeRetention", () => {
  async function planFor(): Promise<RetentionDecision[]> {
    const found = await findBackups(root, stateOf(root));
    return planRetention(
      found.backups,
      RUNBOOK,
      await gatherFacts(
        stateOf(root),
        found.backups.map((x) => x.env),
      ),
    );
  }

  it("deletes what the plan says and nothing else, leaving no trace of the deleted folders", async () => {
    for (let day = 1; day <= 7; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    mkdirSync(path.join(root, "junk"));
    const plan = await planFor();
    const outcome = await executeRetention(root, stateOf(root), plan);
    expect(outcome).toEqual({
      deleted: ["20261101_100000_staging", "20261102_100000_staging"],
      spared: [],
      failed: [],
      stopped: false,
    });
    expect(
      readdirSync(root)
        .filter((n) => n !== ".state")
        .sort(),
    ).toEqual([
      "20261103_100000_staging",
      "20261104_100000_staging",
      "20261105_100000_staging",
      "20261106_100000_staging",
      "20261107_100000_staging",
      "junk",
    ]);
  });

  it("re-checks the env lock right before each delete: a backup that started meanwhile spares its env", async () => {
    for (let day = 1; day <= 7; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    const plan = await planFor();
    expect(deleted(plan)).toHaveLength(2);
    await writeLock("staging", true, "20261123_220000_staging");
    const outcome = await executeRetention(root, stateOf(root), plan);
    expect(outcome.deleted).toEqual([]);
    expect(outcome.spared.map((s) => s.id)).toEqual(["20261101_100000_staging", "20261102_100000_staging"]);
    expect(outcome.spared[0]?.reason).toContain(
      "a staging backup started meanwhile (20261123_220000_staging, bob)",
    );
    expect(existsSync(path.join(root, "20261101_100000_staging"))).toBe(true);
  });

  it("is not held up by a dead instance's lock", async () => {
    for (let day = 1; day <= 6; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    await writeLock("staging", false, "20261123_220000_staging");
    const outcome = await executeRetention(root, stateOf(root), await planFor());
    expect(outcome.deleted).toEqual(["20261101_100000_staging"]);
  });

  it("spares a backup pinned or taken by a restore test after the plan was made", async () => {
    for (let day = 1; day <= 7; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    const plan = await planFor();
    const state = stateOf(root);
    const pin = { reason: "late", by: "dave", at: "2026-11-23T00:00:00Z" };
    await annotate(
      state,
      "20261101_100000_staging",
      async () => {},
      (a) => ({ next: { ...a, pin }, result: undefined }),
    );
    const marker = await markInUse(state, root, "20261102_100000_staging", "carol");
    const outcome = await executeRetention(root, state, plan);
    await marker.release();
    expect(outcome.deleted).toEqual([]);
    expect(outcome.spared).toEqual([
      { id: "20261101_100000_staging", reason: "pinned meanwhile by dave" },
      { id: "20261102_100000_staging", reason: "a restore test or verify started reading it meanwhile" },
    ]);
  });

  it("spares a folder that stopped being a backup (its manifest replaced) after the plan", async () => {
    for (let day = 1; day <= 6; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    const plan = await planFor();
    writeFileSync(path.join(root, "20261101_100000_staging", "manifest.json"), "{}");
    const outcome = await executeRetention(root, stateOf(root), plan);
    expect(outcome.spared).toEqual([
      { id: "20261101_100000_staging", reason: "left alone: manifest.json is not a dbbackup manifest" },
    ]);
  });

  it("finishes removing a folder an interrupted prune had moved aside", async () => {
    writeBackupFolder(root, makeManifest("20261101_100000_staging"), ".pruning-20261101_100000_staging");
    mkdirSync(path.join(root, ".pruning-notes"));
    await executeRetention(root, stateOf(root), []);
    expect(readdirSync(root)).toEqual([".pruning-notes"]);
  });

  it("stops before the next delete once aborted", async () => {
    for (let day = 1; day <= 7; day++) backup(`202611${String(day).padStart(2, "0")}_100000_staging`);
    const abort = new AbortController();
    abort.abort();
    const outcome = await executeRetention(root, stateOf(root), await planFor(), abort.signal);
    expect(outcome).toMatchObject({ deleted: [], stopped: true });
    expect(readdirSync(root)).toHaveLength(7);
  });
});
