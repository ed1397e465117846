import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSlackSettings } from "../../commands/kit/slack-settings.js";
import { loadConfig } from "../../src/config.js";
import { isDbBackupError } from "../../src/errors.js";
import { createLogger } from "../../src/log.js";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { type Bot, createBot } from "../../src/slack/app.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture } from "../helpers/postgres.js";
import { signedRequest, slashCommand, slashCommandBody } from "../helpers/slack-requests.js";
import { testBot } from "../helpers/test-bot.js";

const SECRET = "test-signing-secret-0123456789";
const CHANNEL = "C0OPS0001";
const ALICE = "U0ALICE01";

describe("the Slack bot: real Bolt and WebClient, a fake Slack Web API, a real Postgres", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: { dir: string; remove(): void };
  let bot: Bot;
  let events: string;

  beforeAll(async () => {
    [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    await loadFixture(db.url(), "supabase");
    work = workdir();
    const port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: db.url(), DATABASE_URL_PROD: db.url() },
    });
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(async () => {
    await bot?.stop();
    await Promise.all([slack?.close(), db?.stop()]);
    work?.remove();
  });

  const slash = (text: string, user = ALICE) =>
    slashCommand(events, SECRET, { text, user_id: user, channel_id: CHANNEL });

  it("answers help at once, to the asker only", async () => {
    const r = await slash("help");
    expect(r.status).toBe(200);
    expect(r.elapsedMs).toBeLessThan(3000);
    const body = JSON.parse(r.body) as { response_type: string; text: string };
    expect(body.response_type).toBe("ephemeral");
    expect(body.text).toContain("/dbbackup");
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
  });

  it("turns bad input into usage help and touches nothing", async () => {
    for (const text of [
      "../../etc",
      "staging has spaces in label",
      "x".repeat(5000),
      "nosuchverb extra words here",
      "staging ✨",
    ]) {
      const r = await slash(text);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body) as { response_type: string; text: string };
      expect(body.response_type).toBe("ephemeral");
      expect(body.text.length).toBeGreaterThan(10);
    }
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
  });

  it("refuses a forged, unsigned or stale request with 401 and does nothing", async () => {
    const body = slashCommandBody({ text: "staging forged", user_id: ALICE, channel_id: CHANNEL });
    expect((await signedRequest(events, "wrong-secret-000000000", body)).status).toBe(401);
    expect((await signedRequest(events, SECRET, body, { unsigned: true })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await signedRequest(events, SECRET, body, { timestamp: stale })).status).toBe(401);
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
  });

  it("runs a staging backup: acks first, one message updated with progress, then the verified summary and a restore hint", async () => {
    const r = await slash("staging pre-upgrade");
    expect(r.status).toBe(200);
    expect(r.elapsedMs).toBeLessThan(3000);
    const started = await slack.waitForCall("chat.postMessage", (c) => c.body.channel === CHANNEL, 10_000);
    expect(visibleText(started.body)).toContain(`<@${ALICE}> started a staging backup (pre-upgrade)`);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => visibleText(c.body).includes("staging backup verified"),
      60_000,
    );
    const ts = String(done.body.ts);
    const message = slack.message(CHANNEL, ts);
    expect(message && visibleText(message)).toMatch(/Stage\* 2 readable/);
    expect(message && visibleText(message)).toMatch(/security_invoker=true/);
    // The fixture has views the API roles can read that run as their owner: a warning, not a failure.
    expect(message && visibleText(message)).toMatch(
      /view\(s\) readable by anon\/authenticated without security_invoker=true, so they bypass RLS/,
    );
    const hint = await slack.waitForCall("chat.postMessage", (c) => c.body.thread_ts === ts, 10_000);
    expect(visibleText(hint.body)).toContain("pg_restore --clean --if-exists --no-owner --no-privileges -j4");
    expect(slack.callsTo("chat.postMessage").filter((c) => !c.body.thread_ts)).toHaveLength(1);
  });

  it("lists backups to the asker", async () => {
    const r = await slash("list staging");
    expect(r.status).toBe(200);
    const eph = await slack.waitForCall("chat.postEphemeral", (c) => c.body.user === ALICE, 10_000);
    expect(visibleText(eph.body)).toMatch(/\d{8}_\d{6}_staging_pre-upgrade/);
  });

  it("restore-tests the latest staging backup from Slack and reports stage 3 in the channel", async () => {
    const r = await slash("restore-test latest staging");
    expect(r.status).toBe(200);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => visibleText(c.body).includes("Restore test passed"),
      60_000,
    );
    expect(visibleText(done.body)).toMatch(/stage 3 restored/);
    expect(visibleText(done.body)).toMatch(/\d+ matched, 0 expected differences, 0 failed/);
    expect(visibleText(done.body)).toMatch(
      /compared: tables, views, extensions, policies, sequences, functions/,
    );
    const bad = await slash("restore-test ../../etc");
    expect((JSON.parse(bad.body) as { text: string }).text).toMatch(/is not a backup id/);
  });

  it("pins a backup from Slack with the words after the id as the reason; list shows it", async () => {
    const listed = await slash("list staging");
    expect(listed.status).toBe(200);
    const eph = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => /staging_pre-upgrade/.test(visibleText(c.body)),
      10_000,
    );
    const id = /(\d{8}_\d{6}_staging_pre-upgrade)/.exec(visibleText(eph.body))?.[1] ?? "";
    const r = await slash(`keep ${id} before the tenant split`);
    const body = JSON.parse(r.body) as { response_type: string; text: string };
    expect(body.response_type).toBe("in_channel");
    expect(body.text).toContain(`${id} is pinned: before the tenant split`);
    const missing = await slash("keep 20200101_000000_staging_gone");
    expect((JSON.parse(missing.body) as { text: string }).text).toMatch(
      /No backup 20200101_000000_staging_gone/,
    );
  });

  it("answers every refusal, and never names a path on the bot's host", async () => {
    // --url from Slack: refused in the answer itself, not only in the bot's log.
    const url = await slash("staging --url postgresql://u@127.0.0.1:5432/x oops");
    const urlBody = JSON.parse(url.body) as { response_type: string; text: string };
    expect(urlBody.response_type).toBe("ephemeral");
    expect(urlBody.text).toContain("--url isn't accepted from Slack");
    expect(urlBody.text).toContain("DATABASE_URL_<ENV>");
    // A backup that isn't there: "in the backups folder on the bot's host", never /tmp/… or /srv/….
    const root = `${work.dir}/backups`;
    const missing = await slash("keep 20200101_000000_staging_gone");
    const text = (JSON.parse(missing.body) as { text: string }).text;
    expect(text).toContain("No backup 20200101_000000_staging_gone in the backups folder on the bot's host");
    expect(text).not.toContain(root);
    const before = slack.callsTo("chat.postMessage").length + slack.callsTo("chat.update").length;
    const test = await slash("restore-test 20200101_000000_staging_gone");
    expect(test.status).toBe(200);
    const told = await slack.waitForCall(
      "chat.update",
      (c) => visibleText(c.body).includes("20200101_000000_staging_gone"),
      10_000,
    );
    expect(visibleText(told.body)).toContain("on the bot's host");
    expect(visibleText(told.body)).not.toContain(root);
    expect(slack.callsTo("chat.postMessage").length + slack.callsTo("chat.update").length).toBeGreaterThan(
      before,
    );
  });

  it("fails fast at start when Slack refuses the token", async () => {
    const settings = loadSlackSettings({
      SLACK_BOT_TOKEN: "xoxb-not-the-right-one",
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.url,
      DBBACKUP_CHANNEL: CHANNEL,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    });
    const config = loadConfig({ cwd: work.dir, env: {} });
    const broken = createBot({ config, settings, logger: createLogger("silent") });
    const t0 = Date.now();
    const error = await broken.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(isDbBackupError(error) && error.message).toBe("Slack refused SLACK_BOT_TOKEN (invalid_auth).");
  });
});
