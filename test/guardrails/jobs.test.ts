import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import type { GuardrailContext } from "../../src/guardrails/context.js";
import { runDrills } from "../../src/guardrails/jobs/drills.js";
import { runRetention } from "../../src/guardrails/jobs/retention.js";
import { runSupabase } from "../../src/guardrails/jobs/supabase.js";
import { runVersions } from "../../src/guardrails/jobs/versions.js";
import { runWindows } from "../../src/guardrails/jobs/windows.js";
import type { Notice } from "../../src/guardrails/notices.js";
import { loadGuardrailSettings } from "../../src/guardrails/settings.js";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { appendDrill } from "../../src/state/drill-log.js";
import { WindowStore } from "../../src/state/windows.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSupabase, startFakeSupabase } from "../helpers/fake-supabase.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { sql } from "../helpers/postgres.js";
import { stateOf } from "../helpers/state.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REF = "abcdefghijklmnopqrst";

/** A backup folder as the pipeline leaves it, with the companions `diff` reads. */
function backup(
  root: string,
  id: string,
  o: { finishedAt: Date; version?: string; views?: string[]; stage?: "dumped" | "readable" } = {
    finishedAt: new Date(),
  },
): void {
  const version = o.version ?? "15.18";
  const manifest = makeManifest(id, {
    finishedAt: o.finishedAt.toISOString(),
    server: { version: `PostgreSQL ${version} on x86_64-pc-linux-gnu`, versionNum: 150018, major: 15 },
    ...(o.stage ? { verification: { stage: o.stage } } : {}),
  });
  manifest.catalog.policiesByTable = { "public.notes": 2 };
  const dir = writeBackupFolder(root, manifest);
  writeFileSync(path.join(dir, "version.txt"), `PostgreSQL ${version} on x86_64-pc-linux-gnu\n`);
  writeFileSync(path.join(dir, "extensions.tsv"), "name\tversion\tschema\nplpgsql\t1.0\tpg_catalog\n");
  writeFileSync(
    path.join(dir, "views_reloptions.tsv"),
    `schema\tname\treloptions\n${(o.views ?? []).map((v) => `public\t${v}\t{security_invoker=true}`).join("\n")}\n`,
  );
}

describe("the scheduled guardrails, with a clock the tests move", () => {
  let db: ScratchServer;
  let supabase: FakeSupabase;
  let work: { dir: string; remove(): void };
  let posted: Notice[];
  let failPosting = false;
  const root = () => path.join(work.dir, "backups");

  const ctx = (now: Date, extra: Record<string, string> = {}): GuardrailContext => {
    const env = { DATABASE_URL_STAGING: db.url(), DBBACKUP_KEEP_ON_DEMAND: "1", ...extra };
    const config = loadConfig({ cwd: work.dir, env });
    return {
      config,
      settings: loadGuardrailSettings(
        {
          SUPABASE_ACCESS_TOKEN: supabase.token,
          SUPABASE_API_URL: supabase.url,
          SUPABASE_PROJECT_REF_STAGING: REF,
          ...extra,
        },
        config.environments.keys(),
      ),
      now: () => now,
      post: async (n) => {
        if (failPosting) throw new Error("channel_not_found");
        posted.push(n);
      },
    };
  };

  beforeAll(async () => {
    [db, supabase] = await Promise.all([startScratchServer({ major: 15 }), startFakeSupabase()]);
    await sql(db.url(), "create table notes (id int); create view open_notes as select * from notes");
  });
  afterAll(async () => {
    await Promise.all([db?.stop(), supabase?.close()]);
  });
  beforeEach(() => {
    work?.remove();
    work = workdir();
    mkdirSync(root(), { recursive: true });
    posted = [];
    failPosting = false;
  });

  describe("windows", () => {
    const start = new Date("2026-12-01T02:00:00Z");
    const declared = new Date(start.getTime() - 72 * HOUR);
    const declare = () =>
      new WindowStore(stateOf(root())).declare({
        env: "staging",
        startsAt: start.toISOString(),
        lengthMs: 2 * HOUR,
        note: "15.8 patch",
        declaredBy: "U0ALICE01",
        now: declared,
      });
    const at = (msBeforeStart: number) => new Date(start.getTime() - msBeforeStart);
    const levels = () => posted.flatMap((n) => (n.kind === "nag" ? [n.level] : []));

    it("nags at 48h, 24h, 2h and the start, each once, until covered; then says covered once and goes quiet", async () => {
      await declare();
      await runWindows(ctx(at(49 * HOUR)));
      expect(posted).toEqual([]);
      await runWindows(ctx(at(47 * HOUR)));
      await runWindows(ctx(at(46 * HOUR)));
      expect(levels()).toEqual(["48h"]);
      await runWindows(ctx(at(23 * HOUR)));
      await runWindows(ctx(at(90 * 60_000)));
      expect(levels()).toEqual(["48h", "24h", "2h"]);
      // A pre-upgrade backup from before the declaration doesn't count; stage 1 doesn't either.
      backup(root(), "20261127_000000_staging_pre-upgrade", {
        finishedAt: new Date(declared.getTime() - HOUR),
      });
      backup(root(), "20261130_233000_staging_pre-upgrade", { finishedAt: at(60 * 60_000), stage: "dumped" });
      await runWindows(ctx(at(0)));
      expect(levels()).toEqual(["48h", "24h", "2h", "start"]);
      // Finished 10 minutes after the start: not a pre-upgrade backup. Said once; the window stays uncovered.
      backup(root(), "20261201_020500_staging_pre-upgrade", {
        finishedAt: new Date(start.getTime() + 10 * 60_000),
      });
      await runWindows(ctx(new Date(start.getTime() + 15 * 60_000)));
      await runWindows(ctx(new Date(start.getTime() + 30 * 60_000)));
      expect(posted.filter((n) => n.kind === "covered")).toEqual([]);
      expect(posted.filter((n) => n.kind === "late-cover")).toEqual([
        expect.objectContaining({
          backup: expect.objectContaining({ id: "20261201_020500_staging_pre-upgrade" }),
        }),
      ]);
      expect(posted).toHaveLength(5);
      // The post-window diff compares what was there before it began, and says none covered it.
      await runWindows(ctx(new Date(start.getTime() + 3 * HOUR)));
      const diff = posted.find((n) => n.kind === "window-diff");
      expect(diff).toMatchObject({ covered: false });
      expect(diff?.kind === "window-diff" && diff.from?.id).not.toBe("20261201_020500_staging_pre-upgrade");
    });

    it("a pre-upgrade backup before the start covers it; DBBACKUP_COVER_GRACE lets a few minutes after count", async () => {
      await declare();
      backup(root(), "20261201_015000_staging_pre-upgrade", { finishedAt: at(10 * 60_000) });
      await runWindows(ctx(at(5 * 60_000)));
      expect(posted.filter((n) => n.kind === "covered")).toEqual([
        expect.objectContaining({
          backup: expect.objectContaining({ id: "20261201_015000_staging_pre-upgrade" }),
        }),
      ]);
    });

    it("with DBBACKUP_COVER_GRACE=15m, one that finished 10 minutes after the start still covers it", async () => {
      await declare();
      backup(root(), "20261201_020500_staging_pre-upgrade", {
        finishedAt: new Date(start.getTime() + 10 * 60_000),
      });
      await runWindows(ctx(new Date(start.getTime() + 12 * 60_000), { DBBACKUP_COVER_GRACE: "15m" }));
      expect(posted.map((n) => n.kind)).toContain("covered");
      expect(posted.map((n) => n.kind)).not.toContain("late-cover");
    });

    it("a window declared 90 minutes ahead gets the 2h nag at once, not the 48h and 24h ones after it", async () => {
      await new WindowStore(stateOf(root())).declare({
        env: "staging",
        startsAt: start.toISOString(),
        lengthMs: HOUR,
        note: null,
        declaredBy: "U0ALICE01",
        now: at(90 * 60_000),
      });
      await runWindows(ctx(at(89 * 60_000)));
      await runWindows(ctx(at(88 * 60_000)));
      expect(levels()).toEqual(["2h"]);
      expect((posted[0] as Extract<Notice, { kind: "nag" }>).msLeft).toBe(89 * 60_000);
    });

    it("keeps a nag that could not be posted for the next run", async () => {
      await declare();
      failPosting = true;
      await expect(runWindows(ctx(at(47 * HOUR)))).rejects.toThrow(/channel_not_found/);
      failPosting = false;
      await runWindows(ctx(at(46 * HOUR)));
      expect(levels()).toEqual(["48h"]);
    });

    it("after the window, posts the pre-upgrade backup vs live once, flagging a view that lost security_invoker", async () => {
      const w = await declare();
      backup(root(), "20261130_120000_staging_pre-upgrade", {
        finishedAt: at(14 * HOUR),
        views: ["open_notes"],
      });
      await runWindows(ctx(new Date(start.getTime() + 3 * HOUR)));
      await runWindows(ctx(new Date(start.getTime() + 4 * HOUR)));
      const diffs = posted.filter((n) => n.kind === "window-diff");
      expect(diffs).toHaveLength(1);
      const d = diffs[0] as Extract<Notice, { kind: "window-diff" }>;
      expect(d.covered).toBe(true);
      expect(d.from?.id).toBe("20261130_120000_staging_pre-upgrade");
      expect(d.diff?.version.before).toBe("PostgreSQL 15.18");
      expect(d.diff?.securityInvokerLost).toBe(1);
      expect(d.diff?.views.changed[0]).toMatchObject({
        view: "public.open_notes",
        lostSecurityInvoker: true,
      });
      expect((await new WindowStore(stateOf(root())).open()).map((x) => x.id)).not.toContain(w.id);
    });

    it("after an uncovered window, compares the newest backup before it and says none covered it", async () => {
      await declare();
      backup(root(), "20261115_120000_staging", { finishedAt: new Date("2026-11-15T12:01:00Z") });
      await runWindows(ctx(new Date(start.getTime() + 3 * HOUR)));
      const d = posted.find((n) => n.kind === "window-diff") as Extract<Notice, { kind: "window-diff" }>;
      expect(d).toMatchObject({ covered: false, from: { id: "20261115_120000_staging" } });
    });

    it("a cancelled window is never nagged about", async () => {
      const w = await declare();
      await new WindowStore(stateOf(root())).change(w.id, (x) => ({
        ...x,
        cancelled: { by: "U0BOB0001", at: declared.toISOString() },
      }));
      await runWindows(ctx(at(0)));
      expect(posted).toEqual([]);
    });
  });

  describe("versions and the dead-man alert", () => {
    const now = new Date("2026-11-23T10:00:00Z");

    it("says loudly when live moved on from the newest backup's version with no pre-upgrade backup, once", async () => {
      backup(root(), "20261120_100000_staging", {
        finishedAt: new Date("2026-11-20T10:01:00Z"),
        version: "15.6",
      });
      const report = await runVersions(ctx(now));
      await runVersions(ctx(new Date(now.getTime() + HOUR)));
      expect(report.problems).toEqual([]);
      expect(posted).toHaveLength(1);
      expect(posted[0]).toMatchObject({
        kind: "version-changed",
        env: "staging",
        from: "15.6",
        to: expect.stringMatching(/^15\.\d+$/),
      });
    });

    it("stays quiet when a pre-upgrade backup was taken at the old version after anything else", async () => {
      backup(root(), "20261110_100000_staging", {
        finishedAt: new Date("2026-11-10T10:01:00Z"),
        version: "15.5",
      });
      backup(root(), "20261120_100000_staging_pre-upgrade", {
        finishedAt: new Date("2026-11-20T10:01:00Z"),
        version: "15.6",
      });
      backup(root(), "20261121_100000_staging", {
        finishedAt: new Date("2026-11-21T10:01:00Z"),
        version: "15.6",
      });
      await runVersions(ctx(now));
      expect(posted).toEqual([]);
    });

    it("alerts when no backup reached stage 2 in N days: once a day, and never for a fresh one", async () => {
      backup(root(), "20261110_100000_staging", { finishedAt: new Date("2026-11-10T10:01:00Z") });
      backup(root(), "20261122_100000_staging", {
        finishedAt: new Date("2026-11-22T10:01:00Z"),
        stage: "dumped",
      });
      await runVersions(ctx(now, { DBBACKUP_DEAD_MAN_DAYS: "7" }));
      await runVersions(ctx(new Date(now.getTime() + HOUR), { DBBACKUP_DEAD_MAN_DAYS: "7" }));
      await runVersions(ctx(new Date(now.getTime() + DAY), { DBBACKUP_DEAD_MAN_DAYS: "7" }));
      const alerts = posted.filter((n) => n.kind === "dead-man");
      expect(alerts).toHaveLength(2);
      expect(alerts[0]).toMatchObject({
        env: "staging",
        days: 7,
        lastBackup: { id: "20261110_100000_staging" },
      });
      posted = [];
      await runVersions(ctx(new Date(now.getTime() + 2 * DAY), { DBBACKUP_DEAD_MAN_DAYS: "30" }));
      expect(posted.filter((n) => n.kind === "dead-man")).toEqual([]);
    });

    it("reports an unreachable database as a problem of the run, and still checks the dead-man", async () => {
      const port = await freePort();
      backup(root(), "20261101_100000_staging", { finishedAt: new Date("2026-11-01T10:01:00Z") });
      const report = await runVersions(
        ctx(now, { DATABASE_URL_STAGING: `postgresql://postgres@127.0.0.1:${port}/postgres` }),
      );
      expect(report.problems[0]).toMatch(/^staging: could not read the live version: /);
      expect(posted.map((n) => n.kind)).toEqual(["dead-man"]);
    });
  });

  describe("restore drills", () => {
    const drill = (at: string, ok: boolean) =>
      appendDrill(stateOf(root()), {
        at,
        by: "U0BOB0001",
        backupId: "20261001_100000_staging",
        env: "staging",
        ok,
        ms: 9000,
        serverMajor: 15,
        summary: ok ? "11 tables, 5 views: all match" : "3 tables differ",
      });
    beforeEach(() =>
      backup(root(), "20261120_100000_staging", { finishedAt: new Date("2026-11-20T10:01:00Z") }),
    );

    it("reminds once a quarter, naming the last drill, unless one passed this quarter", async () => {
      await drill("2026-08-01T10:00:00Z", false);
      await runDrills(ctx(new Date("2026-10-01T09:00:00Z")));
      await runDrills(ctx(new Date("2026-10-02T09:00:00Z")));
      expect(posted).toHaveLength(1);
      expect(posted[0]).toMatchObject({
        kind: "drill-due",
        reason: "quarterly",
        quarter: "2026 Q4",
        lastDrill: { by: "U0BOB0001", ok: false, at: "2026-08-01T10:00:00Z" },
      });
      posted = [];
      await drill("2026-12-20T10:00:00Z", true);
      await runDrills(ctx(new Date("2026-12-21T09:00:00Z")));
      expect(posted).toEqual([]);
      // The next quarter begins at local midnight in DBBACKUP_TIMEZONE, not UTC's.
      await runDrills(ctx(new Date("2026-12-31T23:30:00Z"), { DBBACKUP_TIMEZONE: "Europe/Berlin" }));
      expect(posted).toMatchObject([{ kind: "drill-due", reason: "quarterly", quarter: "2027 Q1" }]);
    });

    it("a drill of a copy of a backup (another folder) is logged but counts for nothing", async () => {
      await appendDrill(stateOf(root()), {
        at: "2026-10-01T08:00:00Z",
        by: "U0BOB0001",
        backupId: "20261120_100000_staging",
        env: "staging",
        ok: true,
        ms: 9000,
        serverMajor: 15,
        summary: "all match",
        dir: "/home/bob/copy-of-backup",
        ofBackup: false,
      });
      await runDrills(ctx(new Date("2026-10-01T09:00:00Z")));
      expect(posted).toMatchObject([{ kind: "drill-due", reason: "quarterly", lastDrill: null }]);
    });

    it("reminds when no drill passed in the allowed days, at most weekly", async () => {
      await drill("2026-07-01T10:00:00Z", true);
      await runDrills(ctx(new Date("2026-10-01T09:00:00Z"))); // the quarterly one
      posted = [];
      await runDrills(ctx(new Date("2026-10-02T09:00:00Z")));
      await runDrills(ctx(new Date("2026-10-09T09:00:00Z")));
      await runDrills(ctx(new Date("2026-10-10T09:00:00Z")));
      expect(posted.map((n) => (n.kind === "drill-due" ? n.reason : n.kind))).toEqual(["overdue"]);
      await runDrills(ctx(new Date("2026-10-15T09:00:00Z")));
      expect(posted).toHaveLength(1);
      await runDrills(ctx(new Date("2026-10-16T09:00:00Z")));
      expect(posted).toHaveLength(2);
    });
  });

  describe("retention", () => {
    it("deletes what the rules say, posts one line per backup, audits each; says nothing when nothing goes", async () => {
      backup(root(), "20261120_100000_staging", { finishedAt: new Date("2026-11-20T10:01:00Z") });
      backup(root(), "20261121_100000_staging", { finishedAt: new Date("2026-11-21T10:01:00Z") });
      backup(root(), "20261122_100000_staging", { finishedAt: new Date("2026-11-22T10:01:00Z") });
      await runRetention(ctx(new Date()), "after-backup");
      expect(posted).toHaveLength(1);
      const pruned = posted[0] as Extract<Notice, { kind: "pruned" }>;
      expect(pruned.trigger).toBe("after-backup");
      expect(pruned.deleted.map((d) => d.id)).toEqual(["20261121_100000_staging", "20261120_100000_staging"]);
      expect(existsSync(path.join(root(), "20261121_100000_staging"))).toBe(false);
      expect(existsSync(path.join(root(), "20261122_100000_staging"))).toBe(true);
      const auditLines = readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")
        .trim()
        .split("\n");
      expect(auditLines.filter((l) => l.includes('"kind":"pruned"'))).toHaveLength(2);
      await runRetention(ctx(new Date()));
      expect(posted).toHaveLength(1);
    });
  });

  describe("Supabase upgrade awareness (against a local stand-in of the Management API)", () => {
    beforeEach(() => supabase.reset());

    it("nags when an upgrade is available and no recent pre-upgrade backup exists; weekly at most", async () => {
      supabase.setProject(REF, {
        eligibility: {
          eligible: true,
          current_app_version: "supabase-postgres-15.6.1.143",
          target_upgrade_versions: [
            { postgres_version: "17", release_channel: "ga", app_version: "supabase-postgres-17.4.1.054" },
          ],
        },
      });
      const now = new Date("2026-11-23T10:00:00Z");
      await runSupabase(ctx(now));
      await runSupabase(ctx(new Date(now.getTime() + DAY)));
      expect(posted).toMatchObject([
        { kind: "supabase-upgrade", env: "staging", running: false, targetVersion: "17.4.1.054" },
      ]);
      expect(supabase.requests.every((r) => r.authorization === `Bearer ${supabase.token}`)).toBe(true);
      posted = [];
      backup(root(), "20261130_120000_staging_pre-upgrade", { finishedAt: new Date("2026-11-30T12:01:00Z") });
      await runSupabase(ctx(new Date("2026-12-01T11:00:00Z")));
      expect(posted).toEqual([]);
    });

    it("says so when an upgrade is running without one, and reports a refused token as a problem", async () => {
      supabase.setProject(REF, { status: "UPGRADING" });
      await runSupabase(ctx(new Date("2026-11-23T10:00:00Z")));
      expect(posted).toMatchObject([{ kind: "supabase-upgrade", running: true }]);
      const refused = await runSupabase(
        ctx(new Date("2026-11-25T10:00:00Z"), { SUPABASE_ACCESS_TOKEN: "sbp_wrong_token_000000" }),
      );
      expect(refused.problems[0]).toMatch(/^staging: Supabase refused SUPABASE_ACCESS_TOKEN/);
      expect(refused.problems[0]).not.toContain("sbp_wrong_token_000000");
    });
  });
});
