import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import { workdir } from "../helpers/cli.js";
import { type CallBody, type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture, sql } from "../helpers/postgres.js";
import { blockAction, slashCommand } from "../helpers/slack-requests.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "restore-slack-secret-0123456789";
const CHANNEL = "C0OPS0001";
const ALICE = "U0ALICE01";
const BOB = "U0BOB0001";

/** What a person sees of a message, whether its blocks sit in it or in its coloured attachment. */
const shown = (body: CallBody) =>
  `${visibleText(body)} ${visibleText({ blocks: body.attachments?.[0]?.blocks })}`;

/** Whether a session of `database` comes to wait on a lock within 10 s. */
async function waitedOnLock(url: string, database: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const [waiting] = await sql<{ n: number }>(
      url,
      "select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'",
      [database],
    );
    if ((waiting?.n ?? 0) > 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe("/dbbackup restore: a job in the channel, approved by a second person when in place", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: ReturnType<typeof workdir>;
  let bot: Bot;
  let events: string;
  let id: string;

  beforeAll(async () => {
    [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    await loadFixture(db.url(), "supabase");
    await sql(db.url(), "create database scratch");
    await sql(db.url(), "create database scratch2");
    await sql(db.url(), "create database untouched");
    work = workdir();
    const port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: {
        DATABASE_URL_STAGING: db.url(),
        DATABASE_URL_SCRATCH: db.url("scratch"),
        DATABASE_URL_SCRATCH2: db.url("scratch2"),
        DATABASE_URL_UNTOUCHED: db.url("untouched"),
      },
      slackEnv: { DBBACKUP_PROD_APPROVERS: BOB },
    });
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
    await slash("staging known-good");
    const done = await slack.waitForCall(
      "chat.update",
      (c) => /staging backup verified/.test(shown(c.body)),
      60_000,
    );
    id = /\d{8}_\d{6}_staging_known-good/.exec(shown(done.body))?.[0] ?? "";
  });
  afterAll(() => closeTestBot({ bot, slack, db, work }));

  function slash(text: string, user = ALICE) {
    return slashCommand(events, SECRET, { text, user_id: user, channel_id: CHANNEL });
  }

  it("into another env: runs at once, one message updated to the parity verdict", async () => {
    await slash(`restore ${id} to scratch`);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => /restored\* into scratch/.test(shown(c.body)),
      60_000,
    );
    expect(shown(done.body)).toMatch(/Tables: (\d+) of \1 with the rows recorded at dump time/);
    // Before the verdict, the same message showed the tables restored so far.
    const updates = slack.callsTo("chat.update").filter((c) => c.body.ts === done.body.ts);
    const progress = updates.filter((c) =>
      /started a \*restore .*\* · \d+ of \d+ tables, /.test(shown(c.body)),
    );
    expect(progress.length, updates.map((c) => shown(c.body)).join("\n")).toBeGreaterThan(0);
    expect(updates.indexOf(progress[0]!)).toBeLessThan(updates.indexOf(done));
  });

  it("a dry run says what would happen and that nothing was changed", async () => {
    await slash(`restore ${id} to untouched dry-run`);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => /Dry run\* of restoring/.test(shown(c.body)),
      30_000,
    );
    expect(shown(done.body)).toContain("nothing was changed");
    expect(shown(done.body)).toContain("into a fresh database");
    expect(shown(done.body)).not.toMatch(/restored\* into/);
    const [tables] = await sql<{ n: number }>(
      db.url("untouched"),
      "select count(*)::int as n from pg_tables where schemaname = 'public'",
    );
    expect(tables?.n).toBe(0);
  });

  it("/dbbackup cancel stops pg_restore, and the message says the target is partly restored", async () => {
    // An uncommitted CREATE SCHEMA auth in the target: pg_restore's own waits on it until cancelled.
    const locker = new pg.Client({ connectionString: db.url("scratch2") });
    await locker.connect();
    await locker.query("begin; create schema auth");
    try {
      await slash(`restore ${id} to scratch2`);
      await slack.waitForCall(
        "chat.postMessage",
        (c) => /started a \*restore of .* into scratch2/.test(shown(c.body)),
        10_000,
      );
      expect(await waitedOnLock(db.url(), "scratch2")).toBe(true);
      const cancel = JSON.parse((await slash("cancel")).body) as { text: string };
      expect(cancel.text).toMatch(/Cancelling the restore/);
      const failed = await slack.waitForCall(
        "chat.update",
        (c) => /restore of .* into scratch2.* failed/.test(shown(c.body)),
        20_000,
      );
      expect(shown(failed.body)).toContain("was cancelled: the target is partly restored");
      expect(shown(failed.body)).toContain("Drop and recreate that database");
    } finally {
      await locker.query("rollback").catch(() => {});
      await locker.end();
    }
  });

  it("in place: a second person approves, a pinned safety backup is taken first, and its way back is shown", async () => {
    const before = slack.callsTo("chat.postMessage").length;
    await slash(`restore ${id} to staging in-place`);
    const request = await slack.waitForCall(
      "chat.postMessage",
      (c) =>
        slack.callsTo("chat.postMessage").indexOf(c) >= before && /asks for \*restore of/.test(shown(c.body)),
      10_000,
    );
    expect(shown(request.body)).toContain(`restore of ${id} into staging, in place`);
    const value = /"value":"([0-9a-f-]{36})"/.exec(JSON.stringify(request.body.blocks))?.[1] ?? "";
    const click = (user: string) =>
      blockAction(events, SECRET, {
        action_id: "approval_approve",
        value,
        user_id: user,
        channel_id: CHANNEL,
        message_ts: String(request.response.ts),
      });
    await click(ALICE);
    await slack.waitForCall(
      "chat.postEphemeral",
      (c) => c.body.user === ALICE && /someone else has to approve/.test(String(c.body.text)),
      10_000,
    );
    await click(BOB);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => /restored\* into postgres/.test(shown(c.body)),
      90_000,
    );
    expect(shown(done.body)).toMatch(/Safety backup first: `\d{8}_\d{6}_staging_pre-restore` \(pinned\)/);
    expect(shown(done.body)).toContain("--in-place --confirm postgres");
  });

  it("a URL from Slack is refused: it would carry its password", async () => {
    const r = await slash(`restore ${id} to staging --to-url postgresql://u:secret@h/db`);
    const reply = JSON.parse(r.body) as { response_type: string; text: string };
    expect(reply.response_type).toBe("ephemeral");
    expect(reply.text).toContain("A URL isn't accepted from Slack");
    expect(r.body).not.toContain("secret");
  });
});
