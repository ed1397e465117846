import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod/v3";
import { manifestSchema } from "../../src/backup/manifest.js";
import { markInUse } from "../../src/backup/restore-lock.js";
import { readAnnotations } from "../../src/state/annotations.js";
import { runCli, workdir } from "../helpers/cli.js";
import { type ManifestOverrides, makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { foreignLock, stateOf } from "../helpers/state.js";

/** prune, keep and unkeep through the real CLI (bin/dbbackup.js) on fake backups: what a user sees. */

const USAGE = 2;

let work: { dir: string; remove(): void };
let root: string;

function setUp(dotenv: Record<string, string> = {}): void {
  work = workdir(dotenv);
  root = path.join(work.dir, "backups");
  mkdirSync(root);
}
beforeEach(() => setUp());
afterEach(() => work.remove());

function backup(id: string, overrides: ManifestOverrides = {}): string {
  return writeBackupFolder(root, makeManifest(id, overrides));
}

function day(n: number, env = "staging", label?: string): string {
  return `202611${String(n).padStart(2, "0")}_100000_${env}${label ? `_${label}` : ""}`;
}

function present(): string[] {
  return readdirSync(root)
    .filter((n) => !n.startsWith("."))
    .sort();
}

function cli(...args: string[]) {
  return runCli(args, { cwd: work.dir });
}

const pruneDocument = z.object({
  ok: z.literal(true),
  root: z.string(),
  env: z.string().nullable(),
  dryRun: z.boolean(),
  rules: z.object({ keepOnDemand: z.number(), keepPreUpgrade: z.number() }),
  backups: z.array(
    z.object({
      id: z.string(),
      env: z.string(),
      action: z.enum(["keep", "delete"]),
      rule: z.string(),
      reason: z.string(),
      outcome: z.enum(["deleted", "kept", "spared", "failed"]).optional(),
    }),
  ),
  deleted: z.array(z.string()),
  freedBytes: z.number(),
  ignored: z.array(z.object({ name: z.string(), reason: z.string() })),
  running: z.array(z.object({ env: z.string(), id: z.string() })),
  stopped: z.boolean(),
});

describe("dbbackup prune", () => {
  it("--dry-run says what would go and why, what stays and why, and deletes nothing", async () => {
    for (let d = 1; d <= 7; d++) backup(day(d));
    for (let d = 1; d <= 3; d++) backup(day(d + 10, "staging", "pre-upgrade"));
    const before = present();
    const r = await cli("prune", "--dry-run");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(present()).toEqual(before);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(
      `Dry run: prune would delete 3 of 10 backups in ${root}, freeing 150 MB. Nothing was deleted.`,
    );
    expect(r.stdout).toContain("staging: would delete 3, keep 7");
    const row = (id: string) =>
      lines
        .find((l) => l.includes(id))
        ?.split(/\s{2,}/)
        .filter(Boolean);
    expect(row(day(1))).toEqual(["delete", day(1), "older than the last 5 on-demand backups"]);
    expect(row(day(2))).toEqual(["delete", day(2), "older than the last 5 on-demand backups"]);
    expect(row(day(11, "staging", "pre-upgrade"))).toEqual([
      "delete",
      day(11, "staging", "pre-upgrade"),
      "older than the last 2 pre-upgrade backups",
    ]);
    expect(row(day(3))).toEqual(["keep", day(3), "5th of the last 5 on-demand backups"]);
    expect(row(day(13, "staging", "pre-upgrade"))).toEqual([
      "keep",
      day(13, "staging", "pre-upgrade"),
      "1st of the last 2 pre-upgrade backups",
    ]);
    expect(lines.at(-1)).toBe("Run `dbbackup prune` to delete them.");
  });

  it("deletes what the dry run announced, prints what went, and list shows the rest", async () => {
    for (let d = 1; d <= 7; d++) backup(day(d));
    for (let d = 1; d <= 6; d++) backup(day(d, "prod"));
    const dry = pruneDocument.parse(JSON.parse((await cli("prune", "--dry-run", "--json")).stdout));
    const r = await cli("prune");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`Deleted 3 of 13 backups in ${root}, freeing 150 MB.`);
    expect(r.stdout).toMatch(new RegExp(`deleted\\s+${day(1)}\\s+older than the last 5 on-demand backups`));
    expect(r.stdout).toMatch(new RegExp(`kept\\s+${day(7)}\\s+1st of the last 5 on-demand backups`));
    expect(dry.deleted.sort()).toEqual([day(1, "prod"), day(1), day(2)].sort());
    expect(present()).toEqual(
      [2, 3, 4, 5, 6]
        .map((d) => day(d, "prod"))
        .concat([3, 4, 5, 6, 7].map((d) => day(d)))
        .sort(),
    );
    const list = await cli("list");
    expect(list.stdout).toContain("prod (5)");
    expect(list.stdout).toContain("staging (5)");
    expect(list.stdout).not.toContain(day(1));
    const again = await cli("prune");
    expect(again.stdout.split("\n")[0]).toBe(`Nothing deleted; all 10 backups in ${root} stay.`);
  });

  it("prunes one env when given one", async () => {
    for (let d = 1; d <= 6; d++) backup(day(d));
    for (let d = 1; d <= 6; d++) backup(day(d, "prod"));
    const r = await cli("prune", "prod");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`Deleted 1 of 6 prod backups in ${root}, freeing 50.0 MB.`);
    expect(existsSync(path.join(root, day(1)))).toBe(true);
    expect(existsSync(path.join(root, day(1, "prod")))).toBe(false);
  });

  it("--json: one document with every decision and what happened", async () => {
    for (let d = 1; d <= 6; d++) backup(day(d));
    const r = await cli("prune", "--json");
    expect(r.exitCode).toBe(0);
    const doc = pruneDocument.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ dryRun: false, env: null, rules: { keepOnDemand: 5, keepPreUpgrade: 2 } });
    expect(doc.deleted).toEqual([day(1)]);
    expect(doc.backups.find((b) => b.id === day(1))).toMatchObject({ action: "delete", outcome: "deleted" });
    expect(doc.backups.find((b) => b.id === day(6))).toMatchObject({ action: "keep", outcome: "kept" });
  });

  it("leaves alone, and reports, everything in the folder that is not a dbbackup backup", async () => {
    for (let d = 1; d <= 8; d++) backup(day(d));
    mkdirSync(path.join(root, "20261001_100000_staging"));
    writeFileSync(path.join(root, "20261001_100000_staging", "db_full.dump"), "precious");
    writeBackupFolder(root, makeManifest(day(9)), "20261002_100000_staging");
    mkdirSync(path.join(root, "my-old-backups"));
    writeFileSync(path.join(root, "README.txt"), "do not delete");
    const r = await cli("prune");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Left alone (not dbbackup backups, never touched):");
    expect(r.stdout).toContain("  20261001_100000_staging: no manifest.json");
    expect(r.stdout).toContain(
      `  20261002_100000_staging: manifest.json is for "${day(9)}", not this folder`,
    );
    expect(r.stdout).toContain("  my-old-backups: the name is not a backup id");
    expect(r.stdout).toContain("  README.txt: the name is not a backup id");
    expect(readFileSync(path.join(root, "20261001_100000_staging", "db_full.dump"), "utf8")).toBe("precious");
    expect(present()).toEqual(
      [
        "20261001_100000_staging",
        "20261002_100000_staging",
        "README.txt",
        "my-old-backups",
        ...[4, 5, 6, 7, 8].map((d) => day(d)),
      ].sort(),
    );
  });

  it("touches nothing of an env while a backup of it runs, and says so", async () => {
    for (let d = 1; d <= 7; d++) backup(day(d));
    for (let d = 1; d <= 6; d++) backup(day(d, "prod"));
    // Held by a live bot on another host (a shared state): its lease says so.
    await foreignLock(root, "backup:staging", { alive: true, what: "20261123_220000_staging_pre-upgrade" });
    const r = await cli("prune");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      "staging: deleted 0, kept 7 (a backup is running: 20261123_220000_staging_pre-upgrade, bob; nothing of staging is touched)",
    );
    expect(r.stdout).toMatch(new RegExp(`kept\\s+${day(1)}\\s+its env's backup is running`));
    for (let d = 1; d <= 7; d++) expect(existsSync(path.join(root, day(d)))).toBe(true);
    expect(existsSync(path.join(root, day(1, "prod")))).toBe(false);
  });

  it("keeps a backup a restore test is reading", async () => {
    for (let d = 1; d <= 6; d++) backup(day(d));
    const marker = await markInUse(stateOf(root), root, day(1), "carol");
    try {
      const r = await cli("prune");
      expect(r.stdout).toMatch(new RegExp(`kept\\s+${day(1)}\\s+a restore test is reading it`));
      expect(existsSync(path.join(root, day(1)))).toBe(true);
    } finally {
      await marker.release();
    }
  });

  it("keeps the env's newest verified backup even when the counts keep nothing", async () => {
    work.remove();
    setUp({ DBBACKUP_KEEP_ON_DEMAND: "0", DBBACKUP_KEEP_PRE_UPGRADE: "0" });
    backup(day(1));
    backup(day(2), { verification: { stage: "restored" } });
    backup(day(3), { verification: { lastVerify: { at: "2026-11-04T00:00:00.000Z", ok: false, by: "x" } } });
    const r = await cli("prune");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`kept\\s+${day(2)}\\s+the newest staging backup verified to stage 2 or 3`),
    );
    expect(present()).toEqual([day(2)]);
  });

  it("reads the counts from DBBACKUP_KEEP_ON_DEMAND and DBBACKUP_KEEP_PRE_UPGRADE", async () => {
    work.remove();
    setUp({ DBBACKUP_KEEP_ON_DEMAND: "2", DBBACKUP_KEEP_PRE_UPGRADE: "1" });
    for (let d = 1; d <= 3; d++) backup(day(d));
    for (let d = 1; d <= 2; d++) backup(day(d + 10, "staging", "pre-upgrade"));
    const r = await cli("prune", "--dry-run");
    expect(r.stdout).toContain("keep the last 2 on-demand and the last 1 pre-upgrade backups");
    expect(r.stdout).toContain("staging: would delete 2, keep 3");
  });

  it("names every bad count setting at once (exit 2)", async () => {
    work.remove();
    setUp({ DBBACKUP_KEEP_ON_DEMAND: "-1", DBBACKUP_KEEP_PRE_UPGRADE: "two" });
    const r = await cli("prune");
    expect(r.exitCode).toBe(USAGE);
    expect(r.stderr).toContain("Configuration has 2 problems");
    expect(r.stderr).toContain('DBBACKUP_KEEP_ON_DEMAND="-1": must be a whole number, 0 or more');
    expect(r.stderr).toContain('DBBACKUP_KEEP_PRE_UPGRADE="two": must be a whole number, 0 or more');
  });

  it("says so when there is nothing to prune", async () => {
    const r = await cli("prune", "--dry-run");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`No backups in ${root}: nothing to prune.`);
  });

  it.each([
    [["prune", "staging", "prod"], "prune takes at most one environment"],
    [["prune", "qa"], 'Unknown environment "qa"'],
    [["prune", "--url", "postgresql://u:p@h:5432/d"], "prune takes no --url"],
    [["list", "--dry-run"], "--dry-run goes with prune"],
    [["--dry-run", "pre-upgrade"], "--dry-run goes with prune"],
    [["prune", "--reason", "x"], "--reason goes with keep"],
  ])("refuses %j with exit 2 and touches nothing", async (args, message) => {
    for (let d = 1; d <= 6; d++) backup(day(d));
    const r = await cli(...args);
    expect(r.exitCode).toBe(USAGE);
    expect(r.stderr).toContain(message);
    expect(present()).toHaveLength(6);
  });
});

describe("dbbackup keep / unkeep", () => {
  function manifestOf(id: string) {
    return manifestSchema.parse(JSON.parse(readFileSync(path.join(root, id, "manifest.json"), "utf8")));
  }
  /** The pin as the state records it (the manifest is never rewritten). */
  async function pinOf(id: string) {
    return (await readAnnotations(stateOf(root)))[id]?.pin ?? undefined;
  }

  it("pins a backup in the state; list shows it; prune keeps it; unkeep lets prune have it", async () => {
    for (let d = 1; d <= 6; d++) backup(day(d));
    const keep = await cli("keep", day(1), "--reason", "before tenant split");
    expect(keep.exitCode).toBe(0);
    expect(keep.stdout).toBe(
      `✔ Pinned ${day(1)}: "before tenant split" (by tester)\n  prune never deletes it; \`dbbackup unkeep ${day(1)}\` undoes this.`,
    );
    expect(await pinOf(day(1))).toEqual({
      reason: "before tenant split",
      by: "tester",
      at: expect.any(String),
    });
    // The backup's folder is untouched, and no temporary file is left in the state.
    expect(readdirSync(path.join(root, day(1)))).toEqual(["manifest.json"]);
    expect(readdirSync(path.join(root, ".state")).filter((n) => n.endsWith(".tmp"))).toEqual([]);

    const list = await cli("list");
    const header = list.stdout.split("\n").find((l) => l.includes("LABEL"));
    expect(header?.trim().split(/\s+/)).toEqual(["ID", "LABEL", "SIZE", "AGE", "STAGE", "BY", "PIN"]);
    expect(list.stdout).toMatch(new RegExp(`${day(1)}\\s.*alice\\s+pinned: before tenant split`));
    expect(list.stdout).toMatch(new RegExp(`${day(2)}\\s.*alice\\s+-`));

    const pruned = await cli("prune");
    expect(pruned.stdout).toMatch(new RegExp(`kept\\s+${day(1)}\\s+pinned by tester: "before tenant split"`));
    expect(present()).toHaveLength(6);

    const unkeep = await cli("unkeep", day(1));
    expect(unkeep.exitCode).toBe(0);
    expect(unkeep.stdout).toBe(
      `✔ Unpinned ${day(1)} (was pinned by tester: "before tenant split")\n  prune's usual rules apply to it again.`,
    );
    expect(await pinOf(day(1))).toBeUndefined();
    expect((await cli("list")).stdout).not.toContain("PIN");
    await cli("prune");
    expect(existsSync(path.join(root, day(1)))).toBe(false);
  });

  it("keep without a reason records who pinned it; keeping again replaces the pin", async () => {
    backup(day(1));
    expect((await cli("keep", day(1))).stdout.split("\n")[0]).toBe(`✔ Pinned ${day(1)} (by tester)`);
    expect((await cli("list")).stdout).toContain("pinned by tester");
    const again = await cli("keep", day(1), "--reason=audit");
    expect(again.stdout).toContain("It was pinned already, by tester; replaced.");
    expect((await pinOf(day(1)))?.reason).toBe("audit");
  });

  it("keep --json and unkeep of an unpinned backup", async () => {
    backup(day(1));
    const r = await cli("keep", day(1), "--reason", "q4 audit", "--json");
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      id: day(1),
      pin: { reason: "q4 audit", by: "tester" },
    });
    await cli("unkeep", day(1));
    const u = await cli("unkeep", day(1));
    expect(u.exitCode).toBe(0);
    expect(u.stdout).toBe(`${day(1)} was not pinned; nothing changed.`);
  });

  it("never rewrites the manifest: it stays byte for byte as the backup was filed", async () => {
    backup(day(1));
    const file = path.join(root, day(1), "manifest.json");
    const before = readFileSync(file, "utf8");
    await cli("keep", day(1), "--reason", "x");
    expect((await pinOf(day(1)))?.reason).toBe("x");
    await cli("unkeep", day(1));
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(manifestOf(day(1)).pin).toBeUndefined();
  });

  it("refuses an id that is not there, with a clear message (exit 2)", async () => {
    backup(day(1));
    const r = await cli("keep", day(2), "--reason", "x");
    expect(r.exitCode).toBe(USAGE);
    expect(r.stderr).toBe(`✖ No backup ${day(2)} in ${root}.\n  → Run \`dbbackup list\` to see the ids.`);
    const json = await cli("unkeep", day(2), "--json");
    expect(json.exitCode).toBe(USAGE);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it.each([
    [["keep"], "keep takes one backup id"],
    [["keep", day(1), day(2)], "keep takes one backup id"],
    [["unkeep"], "unkeep takes one backup id"],
    [["keep", "../etc"], '"../etc" is not a backup id'],
    [["keep", day(1), "--reason"], "--reason needs a value"],
    [["unkeep", day(1), "--reason", "x"], "--reason goes with keep"],
    [["keep", day(1), "--reason", "two\nlines"], "a reason is one line of text"],
  ])("refuses %j (exit 2)", async (args, message) => {
    backup(day(1));
    const r = await cli(...args);
    expect(r.exitCode).toBe(USAGE);
    expect(r.stderr).toContain(message);
    expect(await pinOf(day(1))).toBeUndefined();
  });

  it("will not pin a folder that is not a dbbackup backup", async () => {
    mkdirSync(path.join(root, day(1)));
    writeFileSync(path.join(root, day(1), "manifest.json"), "{}");
    const r = await cli("keep", day(1));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("is not a dbbackup backup: manifest.json is not a dbbackup manifest");
    expect(readFileSync(path.join(root, day(1), "manifest.json"), "utf8")).toBe("{}");
  });
});
