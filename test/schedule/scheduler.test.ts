import { mkdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import type { GuardrailContext, JobReport } from "../../src/guardrails/context.js";
import { runJobExclusively } from "../../src/guardrails/run-job.js";
import { loadGuardrailSettings } from "../../src/guardrails/settings.js";
import { createScheduler } from "../../src/schedule/scheduler.js";
import { releaseLock } from "../../src/state/locks.js";
import { PgStateStore } from "../../src/state/pg-store.js";
import { workdir } from "../helpers/cli.js";
import { createDatabase, useTestServer } from "../helpers/postgres.js";
import { foreignLock, stateOf } from "../helpers/state.js";

function context(dir: string, env: Record<string, string> = {}): GuardrailContext {
  const config = loadConfig({ cwd: dir, env: {} });
  mkdirSync(config.backupsDir, { recursive: true });
  return {
    config,
    settings: loadGuardrailSettings(env, []),
    now: () => new Date(),
    post: async () => {},
  };
}

/** A job that holds until released, counting how many runs are inside it at once. */
function gate() {
  let inside = 0;
  let most = 0;
  let runs = 0;
  let release: () => void = () => {};
  const opened = new Promise<void>((r) => {
    release = r;
  });
  return {
    run: async (): Promise<JobReport> => {
      runs++;
      inside++;
      most = Math.max(most, inside);
      await opened;
      inside--;
      return { job: "windows", notices: [], problems: [] };
    },
    release: () => release(),
    stats: () => ({ runs, most }),
  };
}

describe("the scheduler", () => {
  let work: { dir: string; remove(): void } | undefined;
  afterEach(() => work?.remove());

  it("never runs a job alongside itself: a second ask joins the run under way", async () => {
    work = workdir();
    const scheduler = createScheduler({ context: context(work.dir) });
    const g = gate();
    const first = scheduler.runNow("windows", g.run);
    const second = scheduler.runNow("windows", g.run);
    g.release();
    await Promise.all([first, second]);
    expect(g.stats()).toEqual({ runs: 1, most: 1 });
    // Once done, the next ask runs again.
    const h = gate();
    const third = scheduler.runNow("windows", h.run);
    h.release();
    await third;
    expect(h.stats().runs).toBe(1);
  });

  it("refuses to run a job another process is running, and says which", async () => {
    work = workdir();
    const ctx = context(work.dir);
    // Held by a live instance elsewhere (its lease renewed): refused, naming it.
    const held = await foreignLock(ctx.config.backupsDir, "job:retention", {
      alive: true,
      what: "retention job",
    });
    await expect(runJobExclusively("retention", ctx)).rejects.toThrow(
      /The retention job is already running \(pid 1 on elsewhere, which renewed its lease at/,
    );
    await releaseLock(stateOf(ctx.config.backupsDir), held);
    await expect(runJobExclusively("retention", ctx)).resolves.toMatchObject({
      job: "retention",
      notices: [],
    });
  });

  it("runs jobs on their cron schedule in the configured zone, and stops when told", async () => {
    work = workdir();
    const reports: JobReport[] = [];
    // Every second (cron's optional seconds field): the shortest wait that shows a real tick.
    const ctx = context(work.dir, {
      DBBACKUP_SCHEDULE_WINDOWS: "* * * * * *",
      DBBACKUP_SCHEDULE_VERSIONS: "off",
      DBBACKUP_SCHEDULE_DRILLS: "off",
      DBBACKUP_SCHEDULE_RETENTION: "off",
      DBBACKUP_TIMEZONE: "Europe/Berlin",
    });
    const scheduler = createScheduler({ context: ctx, onReport: (r) => reports.push(r) });
    scheduler.start();
    try {
      const next = scheduler.nextRuns();
      expect(Object.keys(next)).toEqual(["windows"]);
      expect(next.windows?.getTime()).toBeLessThanOrEqual(Date.now() + 1_100);
      const deadline = Date.now() + 5_000;
      while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(reports[0]).toEqual({ job: "windows", notices: [], problems: [] });
    } finally {
      await scheduler.stop();
    }
    const count = reports.length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(reports.length).toBe(count);
  });
});

describe("replicas sharing a state database", () => {
  const db = useTestServer(15);
  let work: { dir: string; remove(): void } | undefined;
  afterEach(() => work?.remove());

  it("three schedulers, 10 ticks of a job every second: each tick ran once, by one of them", async () => {
    work = workdir();
    const stateUrl = await createDatabase(db.server, "ticks");
    const ctx = context(work.dir, { DBBACKUP_SCHEDULE_WINDOWS: "* * * * * *" });
    const attempts: { occurrence: string; won: boolean }[] = [];
    let reports = 0;
    // Three replicas: each its own connection pool and sessions on the state database.
    const schedulers = [1, 2, 3].map(() => {
      const store = new PgStateStore(stateUrl, { leaseMs: 60_000 });
      return createScheduler({
        context: ctx,
        onReport: () => {
          reports++;
        },
        claimTick: async (occurrence) => {
          const won = await store.claimOnce(`tick:${occurrence}`, 60_000);
          attempts.push({ occurrence, won });
          return won;
        },
      });
    });
    for (const s of schedulers) s.start();
    const ticks = () => new Set(attempts.map((a) => a.occurrence)).size;
    for (let i = 0; i < 150 && ticks() < 11; i++) await new Promise((r) => setTimeout(r, 100));
    await Promise.all(schedulers.map((s) => s.stop()));
    const byTick = new Map<string, { won: number; tried: number }>();
    for (const a of attempts) {
      const t = byTick.get(a.occurrence) ?? { won: 0, tried: 0 };
      byTick.set(a.occurrence, { won: t.won + (a.won ? 1 : 0), tried: t.tried + 1 });
    }
    const complete = [...byTick.values()].filter((t) => t.tried === 3);
    expect(complete.length).toBeGreaterThanOrEqual(10);
    for (const t of complete) expect(t.won).toBe(1);
    expect(reports).toBe(attempts.filter((a) => a.won).length);
  }, 30_000);
});

describe("guardrail settings", () => {
  it("names every problem at once", () => {
    expect(() =>
      loadGuardrailSettings(
        {
          DBBACKUP_TIMEZONE: "Mars/Olympus",
          DBBACKUP_NAG_HOURS: "soon",
          DBBACKUP_SCHEDULE_DRILLS: "every day",
          DBBACKUP_DEAD_MAN_DAYS: "-1",
          SUPABASE_PROJECT_REF_PROD: "abcdefghijklmnopqrst",
          SUPABASE_PROJECT_REF_STAGING: "NOT-A-REF",
        },
        ["staging"],
      ),
    ).toThrow(
      /6 problems:[\s\S]*DBBACKUP_TIMEZONE[\s\S]*DBBACKUP_NAG_HOURS[\s\S]*DBBACKUP_DEAD_MAN_DAYS[\s\S]*DBBACKUP_SCHEDULE_DRILLS: must be a cron expression[\s\S]*SUPABASE_PROJECT_REF_PROD: there is no environment "prod"[\s\S]*SUPABASE_PROJECT_REF_STAGING: must be a project ref/,
    );
  });

  it("reads the defaults, and the Supabase settings only when a ref and the token are both set", () => {
    const s = loadGuardrailSettings({}, ["staging"]);
    expect(s).toMatchObject({
      timeZone: "UTC",
      nagHours: [48, 24, 2],
      deadManDays: 7,
      drillMaxAgeDays: 90,
      supabase: null,
    });
    expect(s.windowLengthMs).toBe(2 * 3_600_000);
    expect(() =>
      loadGuardrailSettings({ SUPABASE_PROJECT_REF_STAGING: "abcdefghijklmnopqrst" }, ["staging"]),
    ).toThrow(/SUPABASE_ACCESS_TOKEN: is required/);
    const withApi = loadGuardrailSettings(
      {
        SUPABASE_PROJECT_REF_STAGING: "abcdefghijklmnopqrst",
        SUPABASE_ACCESS_TOKEN: "sbp_0123456789abcdef",
        DBBACKUP_NAG_HOURS: "2,72,24",
      },
      ["staging"],
    );
    expect(withApi.supabase?.refs.get("staging")).toBe("abcdefghijklmnopqrst");
    expect(withApi.nagHours).toEqual([72, 24, 2]);
  });
});
