import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture } from "../helpers/postgres.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";
import { slashCommand } from "../helpers/slack-requests.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "offsite-signing-secret-0123456789";
const CHANNEL = "C0OPS0001";
const ALICE = "U0ALICE01";
const AMBER = "#bf8700";

describe("off-site copies from Slack: the verified message says where the copy is, or turns amber", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let s3: S3TestServer;
  let work: ReturnType<typeof workdir>;
  let bot: Bot;
  let events: string;

  beforeAll(async () => {
    [slack, db, s3] = await Promise.all([
      startFakeSlack(),
      startScratchServer({ major: 15 }),
      startS3Server(),
    ]);
    await loadFixture(db.url(), "supabase");
    work = workdir();
    const keyFile = path.join(work.dir, "key.txt");
    await execa("age-keygen", ["-o", keyFile]);
    const recipient = (await execa("age-keygen", ["-y", keyFile])).stdout.trim();
    const port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: db.url(), ...s3.env("bot"), DBBACKUP_AGE_RECIPIENTS: recipient },
    });
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(async () => {
    await closeTestBot({ bot, slack, db, work });
    await s3?.remove();
  });

  const slash = (text: string) => slashCommand(events, SECRET, { text, user_id: ALICE, channel_id: CHANNEL });
  const finalMessage = async (pattern: RegExp) => {
    const call = await slack.waitForCall("chat.update", (c) => pattern.test(visibleText(c.body)), 60_000);
    return call.body;
  };

  it("a backup's verified message ends with off-site ✓ and where the copy is", async () => {
    await slash("staging first");
    const body = await finalMessage(/staging backup verified/);
    expect(visibleText(body)).toMatch(/Off-site ✓ `s3:\/\/dbbackup-test\/bot\/\d{8}_\d{6}_staging_first\/`/);
    expect(body.attachments ?? []).toEqual([]);
  });

  it("when the copy fails the message is amber and says the backup here is good; /dbbackup offsite copies it", async () => {
    await s3.stop();
    try {
      await slash("staging second");
      const body = await finalMessage(/second.*off-site copy failed|Off-site copy failed/);
      expect(body.attachments?.[0]?.color).toBe(AMBER);
      // An amber message keeps its blocks in the attachment that carries the colour.
      const shown = visibleText({ blocks: body.attachments?.[0]?.blocks });
      expect(shown).toMatch(/Off-site copy failed:.*can.t be reached/);
      expect(shown).toContain("The backup here is good and listed");
    } finally {
      await s3.restart();
    }
    const id = /\d{8}_\d{6}_staging_second/.exec(JSON.stringify(slack.messages))?.[0] ?? "";
    await slash(`offsite ${id}`);
    const done = await finalMessage(new RegExp(`Off-site ✓.*${id}`));
    expect(visibleText(done)).toContain(`s3://dbbackup-test/bot/${id}/`);
    await slash("list");
    const listed = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => visibleText(c.body).includes(id),
      10_000,
    );
    expect(visibleText(listed.body)).toMatch(new RegExp(`${id}.*off-site ✓`));
    await slash("list --offsite");
    const remote = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => visibleText(c.body).includes("in `s3://"),
      10_000,
    );
    expect(visibleText(remote.body)).toContain(id);
  });
});
