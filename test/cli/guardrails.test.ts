import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupId } from "../../src/backup/ids.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack } from "../helpers/fake-slack.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { sql } from "../helpers/postgres.js";
import { holdLockInAnotherProcess } from "../helpers/state.js";

const DAY = 86_400_000;
const CHANNEL = "C0GUARDCLI";
/** Nothing listens there: `upgrade` never connects, it only needs prod to be configured. */
const UNUSED_URL = "postgresql://postgres@127.0.0.1:1/postgres";

/** The next 15 January or 15 July at least two days away: Berlin is then at +01:00 or +02:00 for sure. */
function nextMidMonth(): { date: string; utcHour: string } {
  const now = new Date();
  for (let year = now.getUTCFullYear(); ; year++) {
    for (const month of [0, 6]) {
      const at = Date.UTC(year, month, 15);
      if (at > now.getTime() + 2 * DAY)
        return {
          date: new Date(at).toISOString().slice(0, 10),
          utcHour: month === 0 ? "01:00" : "00:00",
        };
    }
  }
}

const works: { remove(): void }[] = [];
function tempWork(dotenv: Record<string, string> = {}) {
  const w = workdir(dotenv);
  works.push(w);
  return w;
}
afterAll(() => {
  for (const w of works) w.remove();
});

describe("dbbackup upgrade: declare, list, cancel maintenance windows", () => {
  it("declares a window in Berlin time (stored and shown in UTC), lists it, cancels it once", async () => {
    const work = tempWork({ DATABASE_URL_PROD: UNUSED_URL });
    const { date, utcHour } = nextMidMonth();
    const declared = await runCli(["upgrade", "prod", date, "02:00", "Europe/Berlin", "90m", "15.8 patch"], {
      cwd: work.dir,
    });
    expect(declared.exitCode, declared.stderr).toBe(0);
    const id = /Declared (w[0-9a-f]{6}) {2}prod {2}/.exec(declared.stdout)?.[1];
    expect(id, declared.stdout).toBeDefined();
    expect(declared.stdout).toContain(
      `Declared ${id}  prod  ${date} ${utcHour} UTC for 1.5h  "15.8 patch"  (declared by tester)`,
    );
    expect(declared.stdout).toContain(`cancel: dbbackup upgrade cancel ${id}`);

    const startsAt = `${date}T${utcHour}:00.000Z`;
    const list = await runCli(["upgrade", "list", "--json"], { cwd: work.dir });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({
      ok: true,
      action: "list",
      windows: [
        expect.objectContaining({
          id,
          env: "prod",
          startsAt,
          endsAt: new Date(Date.parse(startsAt) + 90 * 60_000).toISOString(),
          note: "15.8 patch",
          declaredBy: "tester",
          cancelled: null,
          covered: null,
          nagsSent: [],
        }),
      ],
    });

    const cancelled = await runCli(["upgrade", "cancel", String(id)], { cwd: work.dir });
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`Cancelled ${id}  prod  ${date} ${utcHour} UTC`);
    const after = await runCli(["upgrade", "list"], { cwd: work.dir });
    expect(after.stdout).toBe("No upgrade windows declared.");

    const again = await runCli(["upgrade", "cancel", String(id)], { cwd: work.dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`Window ${id} was already cancelled by tester.`);
    expect(again.stdout).toBe("");

    const unknown = await runCli(["upgrade", "cancel", "w000000"], { cwd: work.dir });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("There is no upgrade window w000000.");
  });

  it("refuses a time the clocks skip (DST), with exit 2 and nothing recorded", async () => {
    const work = tempWork({ DATABASE_URL_PROD: UNUSED_URL });
    const r = await runCli(["upgrade", "prod", "2027-03-28", "02:30", "Europe/Berlin"], { cwd: work.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("2027-03-28 02:30 doesn't exist in Europe/Berlin: the clocks skip that hour.");
    expect(r.stderr).toContain("Pick a time outside the daylight-saving change.");
    expect(existsSync(path.join(work.dir, "backups", ".state", "windows.json"))).toBe(false);
  });
});

describe("dbbackup jobs list", () => {
  it("shows the five jobs with their schedules", async () => {
    const work = tempWork();
    const r = await runCli(["jobs", "list"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    const line = (job: string) => lines.find((l) => l.startsWith(`${job} `)) ?? `(no line for ${job})`;
    expect(line("windows")).toMatch(/^windows +\*\/10 \* \* \* \* +pre-upgrade nags/);
    expect(line("versions")).toMatch(/^versions +17 \* \* \* \* +server version changed/);
    expect(line("drills")).toMatch(/^drills +0 9 \* \* \* +quarterly restore-drill reminder/);
    expect(line("retention")).toMatch(/^retention +30 3 \* \* \* +prune by the retention rules/);
    expect(line("supabase")).toMatch(/^supabase +off \(no SUPABASE_PROJECT_REF_<ENV>\) +Supabase/);
    expect(r.stdout).toContain("Schedules are cron in UTC. Run one now: dbbackup jobs run <name>");
  });

  it("a schedule that isn't cron: exit 2, naming the setting", async () => {
    const work = tempWork({ DBBACKUP_SCHEDULE_WINDOWS: "not cron" });
    const r = await runCli(["jobs", "list"], { cwd: work.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'DBBACKUP_SCHEDULE_WINDOWS: must be a cron expression like "*/10 * * * *", or off',
    );
    expect(r.stdout).toBe("");
  });
});

describe("dbbackup jobs run", () => {
  let server: ScratchServer;
  let slack: FakeSlack;
  let liveVersionText = "";
  let live = "";

  beforeAll(async () => {
    [server, slack] = await Promise.all([startScratchServer({ major: 15 }), startFakeSlack()]);
    liveVersionText = (await sql<{ version: string }>(server.url(), "select version()"))[0]?.version ?? "";
    live = /PostgreSQL (\d+\.\d+)/.exec(liveVersionText)?.[1] ?? "";
    expect(live).toMatch(/^15\.\d+$/);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), slack?.close()]);
  });

  /** A workdir whose backups/ holds fake stage-2 staging backups (manifest only). */
  function withBackups(
    backups: { daysAgo: number; label?: string; serverVersion?: string }[],
    dotenv: Record<string, string> = {},
  ): { dir: string; ids: string[] } {
    const work = tempWork({ DATABASE_URL_STAGING: server.url(), ...dotenv });
    const root = path.join(work.dir, "backups");
    const ids = backups.map((b) => {
      const id = backupId(new Date(Date.now() - b.daysAgo * DAY), "staging", b.label);
      const version = b.serverVersion ?? liveVersionText;
      const num = /PostgreSQL (\d+)\.(\d+)/.exec(version);
      writeBackupFolder(
        root,
        makeManifest(id, {
          server: { version, versionNum: Number(num?.[1]) * 10_000 + Number(num?.[2]), major: 15 },
        }),
      );
      return id;
    });
    return { dir: work.dir, ids };
  }

  const slackEnv = () => ({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    DBBACKUP_CHANNEL: CHANNEL,
  });

  it("versions: no stage-2 backup in 7 days prints the dead-man alert (printed only without Slack settings)", async () => {
    const { dir, ids } = withBackups([{ daysAgo: 10, label: "nightly" }]);
    const r = await runCli(["jobs", "run", "versions"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "versions: 1 notice (printed only: SLACK_BOT_TOKEN or DBBACKUP_CHANNEL is not set)",
    );
    expect(r.stdout).toContain(
      `No staging backup reached stage 2 in 7 days (last: ${ids[0]}). Take one now: dbbackup staging`,
    );
    expect(r.stdout).not.toContain("went from");
  });

  it("versions: with the bot's Slack settings the same alert is posted to the channel, and only once a day", async () => {
    const { dir, ids } = withBackups([{ daysAgo: 10, label: "nightly" }], slackEnv());
    const before = slack.callsTo("chat.postMessage").length;
    const r = await runCli(["jobs", "run", "versions"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`versions: 1 notice (posted to ${CHANNEL})`);
    expect(r.stdout).toContain(`No staging backup reached stage 2 in 7 days (last: ${ids[0]}).`);
    const posts = slack.callsTo("chat.postMessage").slice(before);
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(post?.token).toBe(slack.token);
    expect(post?.status).toBe(200);
    expect(post?.body.channel).toBe(CHANNEL);
    expect(post?.body.text).toBe("No verified staging backup in 7 days");
    // A red message: its blocks are in the attachment.
    const shown = JSON.stringify(post?.body.attachments ?? []);
    expect(shown).toContain(":skull: *No staging backup has reached stage 2 in 7 days.*");
    expect(shown).toContain(`\`${ids[0]}\``);
    expect(shown).toContain('"action_id":"guardrail_backup"');

    const again = await runCli(["jobs", "run", "versions"], { cwd: dir });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe("versions: nothing to say");
    expect(slack.callsTo("chat.postMessage").length).toBe(before + 1);
  });

  it("a window declared from the terminal is announced in the channel at once (with the bot's Slack settings)", async () => {
    const work = tempWork({ DATABASE_URL_PROD: UNUSED_URL });
    const { date } = nextMidMonth();
    const before = slack.callsTo("chat.postMessage").length;
    const r = await runCli(["upgrade", "prod", date, "02:00", "UTC", "1h", "announce me"], {
      cwd: work.dir,
      env: slackEnv(),
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`announced in ${CHANNEL}`);
    const posts = slack.callsTo("chat.postMessage").slice(before);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body.channel).toBe(CHANNEL);
    expect(JSON.stringify(posts[0]?.body.blocks)).toContain("declared a *prod upgrade window");
    const quiet = await runCli(["upgrade", "prod", date, "04:00", "UTC", "1h"], { cwd: work.dir });
    expect(quiet.stdout).toContain("not announced: SLACK_BOT_TOKEN or DBBACKUP_CHANNEL is not set");
  });

  it("printed only (no Slack settings) is not said: run again it prints it again, and the bot's run still posts it, once", async () => {
    const { dir, ids } = withBackups([{ daysAgo: 10, label: "unsaid" }]);
    const alert = `No staging backup reached stage 2 in 7 days (last: ${ids[0]}).`;
    for (let i = 0; i < 2; i++) {
      const printed = await runCli(["jobs", "run", "versions"], { cwd: dir });
      expect(printed.exitCode, printed.stderr).toBe(0);
      expect(printed.stdout).toContain(alert);
    }
    const before = slack.callsTo("chat.postMessage").length;
    const posted = await runCli(["jobs", "run", "versions"], { cwd: dir, env: slackEnv() });
    expect(posted.stdout).toContain(`versions: 1 notice (posted to ${CHANNEL})`);
    expect(slack.callsTo("chat.postMessage").length).toBe(before + 1);
    const again = await runCli(["jobs", "run", "versions"], { cwd: dir, env: slackEnv() });
    expect(again.stdout).toBe("versions: nothing to say");
    expect(slack.callsTo("chat.postMessage").length).toBe(before + 1);
  });

  it("versions: live moved on from the newest backup's version without a pre-upgrade backup", async () => {
    const old = "PostgreSQL 15.6 (Debian 15.6-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc";
    expect(live).not.toBe("15.6");
    const { dir, ids } = withBackups([
      { daysAgo: 3, label: "nightly", serverVersion: old },
      { daysAgo: 1, label: "nightly", serverVersion: old },
    ]);
    const r = await runCli(["jobs", "run", "versions"], { cwd: dir, env: slackEnv() });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `staging went from 15.6 to ${live} without a pre-upgrade backup (newest: ${ids[1]}). Take one now: dbbackup staging`,
    );
    expect(r.stdout).not.toContain("reached stage 2"); // the newest is a day old: no dead-man alert
    // Said (posted) once per change.
    const again = await runCli(["jobs", "run", "versions"], { cwd: dir, env: slackEnv() });
    expect(again.stdout).toBe("versions: nothing to say");
  });

  it("versions: a pre-upgrade backup at the old version as the newest says nothing", async () => {
    const old = "PostgreSQL 15.6 (Debian 15.6-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc";
    const { dir } = withBackups([
      { daysAgo: 3, label: "nightly", serverVersion: old },
      { daysAgo: 1, label: "pre-upgrade", serverVersion: old },
    ]);
    const r = await runCli(["jobs", "run", "versions"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("versions: nothing to say");
  });

  it("versions: a live database it can't reach is a problem: printed, exit 1", async () => {
    const work = tempWork({ DATABASE_URL_STAGING: UNUSED_URL });
    const root = path.join(work.dir, "backups");
    writeBackupFolder(root, makeManifest(backupId(new Date(Date.now() - DAY), "staging", "nightly")));
    const r = await runCli(["jobs", "run", "versions"], { cwd: work.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("versions: nothing to say");
    expect(r.stdout).toContain("! staging: could not read the live version:");
  });

  it("when Slack refuses the post, the notices are still printed (retention already deleted) and the failure is named", async () => {
    const { dir, ids } = withBackups(
      [
        { daysAgo: 3, label: "nightly" },
        { daysAgo: 2, label: "nightly" },
        { daysAgo: 1, label: "nightly" },
      ],
      { ...slackEnv(), DBBACKUP_KEEP_ON_DEMAND: "1" },
    );
    slack.failNext("chat.postMessage", "not_in_channel", { times: Number.POSITIVE_INFINITY });
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli(["jobs", "run", "retention"], { cwd: dir });
    } finally {
      slack.clearFaults();
    }
    // The two older backups are gone whatever Slack said: the terminal must say which.
    expect(existsSync(path.join(dir, "backups", String(ids[0])))).toBe(false);
    expect(existsSync(path.join(dir, "backups", String(ids[1])))).toBe(false);
    const output = `${r.stdout}\n${r.stderr}`;
    expect(output).toContain(String(ids[0]));
    expect(output).toContain(String(ids[1]));
    expect(output).toContain("not_in_channel");
    expect(output).not.toContain("dbbackup crashed");
    expect(r.exitCode).toBe(1);
  });

  it("a job already running in another process (its lock held, lease renewed): exit 1, already running", async () => {
    const work = tempWork();
    const root = path.join(work.dir, "backups");
    mkdirSync(root, { recursive: true });
    const holder = await holdLockInAnotherProcess(root, "job:retention", "retention job");
    try {
      const r = await runCli(["jobs", "run", "retention"], { cwd: work.dir });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `The retention job is already running \\(pid ${holder.pid} on ${os.hostname()}, running; since \\d\\d:\\d\\d:\\d\\d UTC\\)\\.`,
        ),
      );
    } finally {
      await holder.kill();
    }
    // Its holder killed (-9), the lock is a dead instance's: the job runs, with no one cleaning up by hand.
    const r = await runCli(["jobs", "run", "retention"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("retention: nothing to say");
  });
});
