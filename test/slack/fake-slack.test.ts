import type { AddressInfo } from "node:net";
import { App, type Logger, LogLevel } from "@slack/bolt";
import {
  ErrorCode,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebClient,
  WebClientEvent,
  type WebClientOptions,
} from "@slack/web-api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import {
  blockAction,
  nowSeconds,
  signedRequest,
  slackSignature,
  slashCommand,
  slashCommandBody,
} from "../helpers/slack-requests.js";

const CHANNEL = "C0BACKUPS1";
const ALICE = "U0ALICE001";
const BOB = "U0BOB00001";

/** A Bolt/WebClient logger that keeps what it's told, so tests can assert why Bolt refused something. */
class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; text: string }[] = [];
  private level = LogLevel.DEBUG;
  private log(level: LogLevel, msg: unknown[]) {
    this.lines.push({ level, text: msg.map((m) => (m instanceof Error ? m.message : String(m))).join(" ") });
  }
  debug(...msg: unknown[]) {
    this.log(LogLevel.DEBUG, msg);
  }
  info(...msg: unknown[]) {
    this.log(LogLevel.INFO, msg);
  }
  warn(...msg: unknown[]) {
    this.log(LogLevel.WARN, msg);
  }
  error(...msg: unknown[]) {
    this.log(LogLevel.ERROR, msg);
  }
  setLevel(level: LogLevel) {
    this.level = level;
  }
  getLevel() {
    return this.level;
  }
  setName() {}
  has(level: LogLevel, pattern: RegExp) {
    return this.lines.some((l) => l.level === level && pattern.test(l.text));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("fake Slack Web API, driven by the real WebClient", () => {
  let fake: FakeSlack;
  const client = (options: WebClientOptions = {}, token = fake.token) =>
    new WebClient(token, {
      slackApiUrl: fake.url,
      retryConfig: { retries: 0 },
      logger: new MemoryLogger(),
      ...options,
    });

  beforeAll(async () => {
    fake = await startFakeSlack({ userGroups: { S0APPROVER: [ALICE, BOB] } });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it("answers auth.test for the configured token, and records how the WebClient sent it", async () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const result = await client().auth.test();
    expect(result).toMatchObject({
      ok: true,
      user_id: fake.botUserId,
      bot_id: fake.botId,
      team_id: fake.teamId,
    });
    const [call] = fake.callsTo("auth.test");
    expect(call?.token).toBe(fake.token); // from Authorization: Bearer, not the body
    expect(call?.contentType).toBe("application/x-www-form-urlencoded");
  });

  it("answers invalid_auth for any other token, surfacing as a WebAPIPlatformError", async () => {
    const error = await rejection(client({}, "xoxb-revoked").auth.test());
    expect(error).toBeInstanceOf(WebAPIPlatformError);
    expect(error).toMatchObject({
      code: ErrorCode.PlatformError,
      data: { ok: false, error: "invalid_auth" },
    });
    expect(fake.callsTo("auth.test")[0]?.response).toEqual({ ok: false, error: "invalid_auth" });
  });

  it("records chat.postMessage with blocks decoded, answers increasing timestamps, keeps the message", async () => {
    const web = client();
    const blocks = [
      { type: "section", text: { type: "mrkdwn", text: "*staging* backup started" } },
      {
        type: "actions",
        elements: [
          { type: "button", action_id: "cancel", text: { type: "plain_text", text: "Cancel" }, value: "j1" },
        ],
      },
    ];
    const first = await web.chat.postMessage({ channel: CHANNEL, text: "staging backup started", blocks });
    const second = await web.chat.postMessage({ channel: CHANNEL, text: "second", thread_ts: first.ts });
    expect(first).toMatchObject({
      ok: true,
      channel: CHANNEL,
      message: { text: "staging backup started", blocks },
    });
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));

    const call = await fake.waitForCall(
      "chat.postMessage",
      (c) => c.body.text === "staging backup started",
      1_000,
    );
    expect(call.body.blocks).toEqual(blocks); // sent as a JSON string field, recorded as the array
    expect(call.body.channel).toBe(CHANNEL);
    expect(fake.message(CHANNEL, first.ts ?? "")?.reply_count).toBe(1);
    expect(fake.replies(CHANNEL, first.ts ?? "").map((m) => m.text)).toEqual(["second"]);
    expect(visibleText(fake.message(CHANNEL, first.ts ?? "") ?? {})).toBe("*staging* backup started\nCancel");
  });

  it("chat.update replaces in place and keeps blocks it wasn't sent, as Slack does; unknown ts → message_not_found", async () => {
    const web = client();
    const button = {
      type: "actions",
      elements: [
        { type: "button", action_id: "approve", text: { type: "plain_text", text: "Approve" }, value: "r1" },
      ],
    };
    const posted = await web.chat.postMessage({
      channel: CHANNEL,
      text: "approval needed",
      blocks: [button],
    });
    const ts = posted.ts ?? "";
    await web.chat.update({ channel: CHANNEL, ts, text: "approved by bob" });
    expect(fake.message(CHANNEL, ts)).toMatchObject({
      text: "approved by bob",
      blocks: [button],
      updates: 1,
    });
    const updated = await web.chat.update({ channel: CHANNEL, ts, text: "approved by bob", blocks: [] });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts });
    expect(fake.message(CHANNEL, ts)).toMatchObject({ blocks: [], updates: 2 });

    const error = await rejection(web.chat.update({ channel: CHANNEL, ts: "1.000001", text: "x" }));
    expect(error).toMatchObject({ data: { error: "message_not_found" } });
    await web.chat.delete({ channel: CHANNEL, ts });
    expect(fake.message(CHANNEL, ts)?.deleted).toBe(true);
  });

  it("chat.postEphemeral answers message_ts and shows the text only to that user", async () => {
    const result = await client().chat.postEphemeral({ channel: CHANNEL, user: ALICE, text: "only you" });
    expect(result).toMatchObject({ ok: true, message_ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(fake.ephemerals).toEqual([
      expect.objectContaining({ channel: CHANNEL, user: ALICE, text: "only you" }),
    ]);
    expect(fake.messages).toEqual([]);
  });

  it("usergroups.users.list: members, no_such_subteam, and plan_upgrade_required without user groups", async () => {
    const web = client();
    expect((await web.usergroups.users.list({ usergroup: "S0APPROVER" })).users).toEqual([ALICE, BOB]);
    expect(await rejection(web.usergroups.users.list({ usergroup: "S0NOPE" }))).toMatchObject({
      data: { error: "no_such_subteam" },
    });

    const free = await startFakeSlack({ userGroups: "unavailable" });
    try {
      const freeClient = new WebClient(free.token, { slackApiUrl: free.url, retryConfig: { retries: 0 } });
      expect(await rejection(freeClient.usergroups.users.list({ usergroup: "S0APPROVER" }))).toMatchObject({
        data: { error: "plan_upgrade_required" },
      });
    } finally {
      await free.close();
    }
  });

  it("users.info / conversations.info need scopes the manifest doesn't grant (missing_scope), work when granted", async () => {
    expect(await rejection(client().users.info({ user: ALICE }))).toMatchObject({
      data: { error: "missing_scope", needed: "users:read" },
    });
    const wide = await startFakeSlack({
      scopes: ["chat:write", "users:read", "channels:read"],
      users: [{ id: ALICE, name: "alice", realName: "Alice A" }],
      channels: [{ id: CHANNEL, name: "backups" }],
    });
    try {
      const web = new WebClient(wide.token, { slackApiUrl: wide.url, retryConfig: { retries: 0 } });
      expect((await web.users.info({ user: ALICE })).user).toMatchObject({
        id: ALICE,
        name: "alice",
        real_name: "Alice A",
      });
      expect(await rejection(web.users.info({ user: BOB }))).toMatchObject({
        data: { error: "user_not_found" },
      });
      expect((await web.conversations.info({ channel: CHANNEL })).channel).toMatchObject({
        id: CHANNEL,
        name: "backups",
      });
      expect(await rejection(web.chat.postMessage({ channel: "C0OTHER001", text: "x" }))).toMatchObject({
        data: { error: "channel_not_found" },
      });
    } finally {
      await wide.close();
    }
  });

  it("an injected channel_not_found surfaces as the WebClient's platform error, once", async () => {
    const web = client();
    fake.failNext("chat.postMessage", "channel_not_found");
    const error = await rejection(web.chat.postMessage({ channel: CHANNEL, text: "hello" }));
    expect(error).toBeInstanceOf(WebAPIPlatformError);
    expect(error).toMatchObject({ code: ErrorCode.PlatformError, data: { error: "channel_not_found" } });
    expect((await web.chat.postMessage({ channel: CHANNEL, text: "hello" })).ok).toBe(true);
    expect(fake.callsTo("chat.postMessage").map((c) => c.response.ok)).toEqual([false, true]);
  });

  it("a 429 is a WebAPIRateLimitedError at once with rejectRateLimitedCalls", async () => {
    fake.rateLimitNext("chat.postMessage", 30);
    const started = performance.now();
    const error = await rejection(
      client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: CHANNEL, text: "x" }),
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 30 });
    expect(fake.callsTo("chat.postMessage")[0]).toMatchObject({
      status: 429,
      response: { error: "ratelimited" },
    });
  });

  it("without rejectRateLimitedCalls a 429 sleeps Retry-After (pausing the client's whole queue), then throws a plain Error", async () => {
    const web = client();
    fake.rateLimitNext("chat.postMessage", 1);
    const started = performance.now();
    const paused = new Promise((resolve) =>
      web.once(WebClientEvent.RATE_LIMITED, () => setImmediate(resolve)),
    );
    const limited = rejection(web.chat.postMessage({ channel: CHANNEL, text: "x" }));
    await paused;
    const other = web.auth.test().then(() => performance.now() - started); // queued behind the pause
    const error = await limited;
    expect(error).not.toBeInstanceOf(WebAPIRateLimitedError);
    expect(String(error)).toMatch(/rate limit was exceeded/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(await other).toBeGreaterThanOrEqual(950);
  });

  it("an injected HTTP 503 is a WebAPIHTTPError", async () => {
    fake.httpErrorNext("*", 503);
    expect(await rejection(client().auth.test())).toBeInstanceOf(WebAPIHTTPError);
  });

  it("refuses Block Kit over Slack's limits with invalid_blocks, and a message with no content with no_text", async () => {
    const web = client();
    const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
    const tooMany = Array.from({ length: 51 }, (_, i) => section(`b${i}`));
    expect(
      await rejection(web.chat.postMessage({ channel: CHANNEL, text: "x", blocks: tooMany })),
    ).toMatchObject({
      data: { error: "invalid_blocks" },
    });
    const fifty = tooMany.slice(0, 50);
    expect((await web.chat.postMessage({ channel: CHANNEL, text: "x", blocks: fifty })).ok).toBe(true);
    expect(
      await rejection(
        web.chat.postMessage({ channel: CHANNEL, text: "x", blocks: [section("y".repeat(3001))] }),
      ),
    ).toMatchObject({ data: { error: "invalid_blocks" } });
    expect(await rejection(web.chat.postMessage({ channel: CHANNEL, text: "" }))).toMatchObject({
      data: { error: "no_text" },
    });
  });

  it("response_url: replace_original replaces the whole message; the 6th use is refused (used_url)", async () => {
    const web = client();
    const button = {
      type: "actions",
      elements: [
        { type: "button", action_id: "deny", text: { type: "plain_text", text: "Deny" }, value: "r1" },
      ],
    };
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: "approve?", blocks: [button] });
    const url = fake.responseUrl({ channel: CHANNEL, user: BOB, messageTs: posted.ts ?? "" });
    const post = (body: Record<string, unknown>) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    expect((await post({ replace_original: true, text: "denied by bob" })).status).toBe(200);
    expect(fake.message(CHANNEL, posted.ts ?? "")).toMatchObject({
      text: "denied by bob",
      blocks: [],
      updates: 1,
    });
    for (let i = 0; i < 4; i++) expect((await post({ text: `ephemeral ${i}` })).status).toBe(200);
    const sixth = await post({ text: "one too many" });
    expect([sixth.status, await sixth.text()]).toEqual([404, "used_url"]);
    expect(fake.ephemerals.map((e) => e.user)).toEqual([BOB, BOB, BOB, BOB]);
    expect(fake.responsePosts.map((p) => p.outcome)).toEqual(["ok", "ok", "ok", "ok", "ok", "used_url"]);
  });

  it("parses JSON bodies too, and waitForCall gives up after its timeout", async () => {
    const response = await fetch(`${fake.url}chat.postMessage`, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${fake.token}` },
      body: JSON.stringify({ channel: CHANNEL, text: "json", blocks: [{ type: "divider" }] }),
    });
    expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
    expect(fake.callsTo("chat.postMessage")[0]?.body).toMatchObject({
      text: "json",
      blocks: [{ type: "divider" }],
    });

    const started = performance.now();
    await expect(fake.waitForCall("chat.delete", () => true, 100)).rejects.toThrow(/timed out after 100 ms/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("a real Bolt App on an HTTPReceiver, driven by signed requests", () => {
  const signingSecret = "fake-signing-secret";
  let fake: FakeSlack;
  let app: App;
  let logger: MemoryLogger;
  let eventsUrl: string;
  const seen: { user: string; text: string }[] = [];

  beforeAll(async () => {
    fake = await startFakeSlack();
    logger = new MemoryLogger();
    app = new App({
      signingSecret,
      token: fake.token,
      // With both given Bolt skips auth.test; without them it calls auth.test in the constructor.
      botId: fake.botId,
      botUserId: fake.botUserId,
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
      logger,
    });
    app.command("/dbbackup", async ({ command, ack, respond, client }) => {
      seen.push({ user: command.user_id, text: command.text });
      if (command.text === "help") {
        await ack({ response_type: "ephemeral", text: "usage: /dbbackup <env> <label>" });
        return;
      }
      await ack();
      await client.chat.postMessage({
        channel: command.channel_id,
        text: `<@${command.user_id}> started a backup`,
      });
      await respond({ text: "on it" });
    });
    app.action("approve", async ({ ack, action, body }) => {
      await ack();
      if (action.type === "button") seen.push({ user: body.user.id, text: `approve:${action.value}` });
    });
    const server = await app.start({ port: 0, host: "127.0.0.1" });
    eventsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    await app?.stop();
    await fake?.close();
  });
  afterEach(() => {
    seen.length = 0;
    fake.reset();
  });

  it("acks a signed slash command at once, then the listener's Web API calls and respond() reach the fake", async () => {
    const responseUrl = fake.responseUrl({ channel: CHANNEL, user: ALICE });
    const result = await slashCommand(eventsUrl, signingSecret, {
      text: "staging pre-upgrade",
      user_id: ALICE,
      channel_id: CHANNEL,
      response_url: responseUrl,
    });
    expect(result.status).toBe(200);
    expect(result.body).toBe("");
    expect(result.elapsedMs).toBeLessThan(1_000);
    expect(seen).toEqual([{ user: ALICE, text: "staging pre-upgrade" }]);

    const post = await fake.waitForCall("chat.postMessage", () => true, 2_000);
    expect(post.body).toMatchObject({
      channel: CHANNEL,
      text: `<@${ALICE}> started a backup`,
      team_id: fake.teamId,
    });
    expect(post.token).toBe(fake.token);
    await fake.waitForResponsePost(() => true, 2_000);
    expect(fake.ephemerals).toEqual([
      expect.objectContaining({ user: ALICE, text: "on it", via: "response_url" }),
    ]);
    expect(fake.callsTo("auth.test")).toEqual([]);
  });

  it("ack(message) answers the slash command in the HTTP response body", async () => {
    const result = await slashCommand(eventsUrl, signingSecret, {
      text: "help",
      user_id: ALICE,
      channel_id: CHANNEL,
    });
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({
      response_type: "ephemeral",
      text: "usage: /dbbackup <env> <label>",
    });
  });

  it("a signed button click reaches the action listener with the clicker's id", async () => {
    const result = await blockAction(eventsUrl, signingSecret, {
      action_id: "approve",
      value: "req-42",
      user_id: BOB,
      channel_id: CHANNEL,
      message_ts: "1700000000.000100",
    });
    expect(result.status).toBe(200);
    expect(seen).toEqual([{ user: BOB, text: "approve:req-42" }]);
  });

  it("refuses a forged or unsigned command with 401 and runs nothing", async () => {
    const fields = { text: "prod now", user_id: ALICE, channel_id: CHANNEL };
    const wrongSecret = await slashCommand(eventsUrl, "not-the-secret", fields);
    const body = slashCommandBody(fields);
    const ts = nowSeconds();
    const tampered = await signedRequest(eventsUrl, signingSecret, body.replace("prod", "staging"), {
      timestamp: ts,
      signature: slackSignature(signingSecret, ts, body),
    });
    const unsigned = await signedRequest(eventsUrl, signingSecret, body, { unsigned: true });
    expect([wrongSecret.status, tampered.status, unsigned.status]).toEqual([401, 401, 401]);
    expect(seen).toEqual([]);
    expect(fake.calls).toEqual([]);
    expect(logger.has(LogLevel.WARN, /signature mismatch/)).toBe(true);
  });

  it("refuses a correctly signed but stale (> 5 min) command with 401", async () => {
    const stale = await slashCommand(
      eventsUrl,
      signingSecret,
      { text: "staging x", user_id: ALICE, channel_id: CHANNEL },
      { timestamp: nowSeconds() - 6 * 60 },
    );
    expect(stale.status).toBe(401);
    expect(seen).toEqual([]);
    expect(logger.has(LogLevel.WARN, /stale/)).toBe(true);
  });

  it("with deferInitialization, init() checks the token with auth.test and fails fast on a bad one", async () => {
    const bad = new App({
      signingSecret,
      token: "xoxb-wrong",
      deferInitialization: true,
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } },
      logger: new MemoryLogger(),
    });
    const error = await rejection(bad.init());
    expect(error).toMatchObject({ data: { error: "invalid_auth" } });
    expect(fake.callsTo("auth.test")).toEqual([expect.objectContaining({ token: "xoxb-wrong" })]);
  });
});
