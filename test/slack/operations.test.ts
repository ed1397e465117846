import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import { runCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture } from "../helpers/postgres.js";
import { slashCommand } from "../helpers/slack-requests.js";
import { otherInstance } from "../helpers/state.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "operations-signing-secret-0123456789";
const CHANNEL = "C0OPS0003";
const ALICE = "U0ALICE01";
const BOB = "U0BOB0001";
const EVE = "U0EVE0001";

describe("running the bot: status, cancel, Slack errors, restarts, who may ask", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: { dir: string; remove(): void };
  let bot: Bot;
  let events: string;
  let port: number;
  const root = () => path.join(work.dir, "backups");

  const makeBot = () =>
    testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: db.url(), DBBACKUP_LOCK_WAIT_TIMEOUT: "60s" },
      slackEnv: { DBBACKUP_REQUESTERS: `${ALICE},${BOB}`, DBBACKUP_ALLOWED_CHANNELS: `${CHANNEL},C0OTHER01` },
    });

  beforeAll(async () => {
    [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    await loadFixture(db.url(), "supabase");
    work = workdir();
    port = await freePort();
    bot = makeBot();
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(() => closeTestBot({ bot, slack, db, work }));

  const slash = async (text: string, user = ALICE, channel = CHANNEL) => {
    const r = await slashCommand(events, SECRET, { text, user_id: user, channel_id: channel });
    return { status: r.status, body: r.body ? (JSON.parse(r.body) as { text?: string }) : {} };
  };

  it("tells someone not on DBBACKUP_REQUESTERS, or in another channel, a clear no", async () => {
    expect((await slash("staging nope", EVE)).body.text).toMatch(/not on the list of people who may ask/);
    expect((await slash("staging nope", ALICE, "C0RANDOM1")).body.text).toMatch(
      /doesn't take commands in this channel/,
    );
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
  });

  it("shows status, and lets the requester cancel a running backup: stopped, nothing kept, audited", async () => {
    const locker = new pg.Client({ connectionString: db.url() });
    await locker.connect();
    await locker.query("begin; lock table public.documents in access exclusive mode");
    try {
      await slash("staging slow");
      await slack.waitForCall(
        "chat.postMessage",
        (c) => visibleText(c.body).includes("started a staging backup (slow)"),
        10_000,
      );
      const status = await slash("status", BOB);
      expect(status.body.text).toMatch(/Running: 1/);
      const eve = await slash("cancel", EVE);
      expect(eve.body.text).toMatch(/not on the list/);
      const cancel = await slash("cancel", ALICE);
      expect(cancel.body.text).toMatch(/Cancelling the staging backup `[0-9a-f]{8}`/);
      const failed = await slack.waitForCall(
        "chat.update",
        (c) => visibleText(c.body).includes("staging backup failed"),
        20_000,
      );
      // The same message turns red, and its progress blocks are gone.
      const shown = slack.message(CHANNEL, String(failed.body.ts));
      expect(shown?.blocks).toEqual([]);
      expect(JSON.stringify(shown?.attachments)).toMatch(/"color":"#d1242f".*cancelled/);
    } finally {
      await locker.query("rollback").catch(() => {});
      await locker.end();
    }
    await Promise.allSettled(bot.running());
    const list = await runCli(["list", "--json"], { cwd: work.dir });
    expect((JSON.parse(list.stdout) as { backups: unknown[] }).backups).toHaveLength(0);
    const auditLog = readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8");
    expect(auditLog).toMatch(/"kind":"backup-cancelled".*"by":"U0ALICE01"/);
  });

  it("when the channel can't be posted to, tells the requester and still takes the backup", async () => {
    slack.failNext("chat.postMessage", "not_in_channel");
    await slash("staging unposted");
    const told = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => /not_in_channel/.test(String(c.body.text)),
      10_000,
    );
    expect(String(told.body.text)).toMatch(/runs anyway\. Invite me there/);
    await slack.waitForCall(
      "chat.postEphemeral",
      (c) => /is verified \(stage readable\)/.test(String(c.body.text)),
      60_000,
    );
    const list = await runCli(["list", "--json"], { cwd: work.dir });
    expect(
      (JSON.parse(list.stdout) as { backups: { label: string }[] }).backups.map((b) => b.label),
    ).toContain("unposted");
  });

  it("when Slack rate-limits the post, says so to the requester at once and still takes the backup", async () => {
    slack.rateLimitNext("chat.postMessage", 30);
    const t0 = Date.now();
    await slash("staging rate-limited");
    const told = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => /rate/i.test(String(c.body.text)),
      10_000,
    );
    expect(told.at - t0).toBeLessThan(5_000); // no 30 s Retry-After sleep
    await slack.waitForCall(
      "chat.postEphemeral",
      (c) => /_staging_rate-limited is verified/.test(String(c.body.text)),
      60_000,
    );
    const list = await runCli(["list", "--json"], { cwd: work.dir });
    expect(
      (JSON.parse(list.stdout) as { backups: { label: string }[] }).backups.map((b) => b.label),
    ).toContain("rate-limited");
  });

  it("after a restart, a backup that was running is marked interrupted, its folder cleaned and the channel told", async () => {
    await bot.stop();
    // What a killed bot leaves: its job on record and a hidden in-progress folder, both owned by an
    // instance whose lease is gone.
    const dead = otherInstance(root(), false, "old-container");
    mkdirSync(path.join(root(), ".state"), { recursive: true });
    writeFileSync(
      path.join(root(), ".state", "jobs.json"),
      JSON.stringify({
        running: [
          {
            id: "deadbeef",
            env: "staging",
            label: "night",
            requestedBy: ALICE,
            approvedBy: null,
            startedAt: "2026-11-23T03:00:00.000Z",
            instance: dead.id,
            pid: 1,
            host: dead.host,
            channel: null,
            ts: null,
          },
        ],
      }),
    );
    const partial = path.join(root(), ".inprogress-20261123_030000_staging_night");
    mkdirSync(partial);
    writeFileSync(
      path.join(partial, ".owner.json"),
      JSON.stringify({ instance: dead.id, pid: 1, host: dead.host, startedAt: "2026-11-23T03:00:00.000Z" }),
    );
    bot = makeBot();
    await bot.start();
    const told = await slack.waitForCall(
      "chat.postMessage",
      (c) => visibleText(c.body).includes("The bot running this backup stopped"),
      10_000,
    );
    expect(visibleText(told.body)).toContain("staging backup failed");
    expect(visibleText(told.body)).toContain("pid 1 on old-container");
    expect(() => readFileSync(path.join(partial, ".owner.json"))).toThrow();
    expect(readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")).toContain(
      '"kind":"backup-interrupted"',
    );
  });

  it("on shutdown stops taking work, and cancels a backup still running after the grace period", async () => {
    const locker = new pg.Client({ connectionString: db.url() });
    await locker.connect();
    await locker.query("begin; lock table public.documents in access exclusive mode");
    try {
      await slash("staging at-shutdown");
      await slack.waitForCall(
        "chat.postMessage",
        (c) => visibleText(c.body).includes("(at-shutdown)"),
        10_000,
      );
      const t0 = Date.now();
      const stopping = bot.shutdown(300);
      const refused = await slash("staging too-late").catch(() => undefined);
      const result = await stopping;
      expect(result).toEqual({ finished: 0, cancelled: 1 });
      expect(Date.now() - t0).toBeLessThan(15_000);
      if (refused?.status === 200) expect(refused.body.text).toMatch(/restarting/);
      await slack.waitForCall(
        "chat.update",
        (c) => /staging backup failed[\s\S]*cancelled/.test(visibleText(c.body)),
        10_000,
      );
    } finally {
      await locker.query("rollback").catch(() => {});
      await locker.end();
    }
    const list = await runCli(["list", "--json"], { cwd: work.dir });
    const labels = (JSON.parse(list.stdout) as { backups: { label: string }[] }).backups.map((b) => b.label);
    expect(labels).not.toContain("at-shutdown");
    expect(readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")).toMatch(
      /"kind":"backup-cancelled".*"by":"shutdown"/,
    );
    bot = makeBot();
    await bot.start();
  });
});
