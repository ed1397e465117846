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
    work = workdir();
    const port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: db.url(), DATABASE_URL_SCRATCH: db.url("scratch") },
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
