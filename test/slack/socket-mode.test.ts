import { createHook } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSlackSettings } from "../../commands/kit/slack-settings.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { type Bot, createBot } from "../../src/slack/app.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { type FakeSocketMode, startFakeSocketMode } from "../helpers/fake-socket-mode.js";

const CHANNEL = "C0OPS0001";
const ALICE = "U0ALICE01";

/** Sockets and servers this process holds (what would keep it from exiting), by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/**
 * Timers created by the bot's code (Bolt, the Socket Mode client, undici, src/) while the hook is on that are
 * still pending and would keep the process alive. The runner's own timers are left out by creation stack.
 */
function watchBotTimers(): { pending(): string[]; stop(): void } {
  const live = new Map<number, { timer: { hasRef(): boolean }; stack: string }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== "Timeout" || !("hasRef" in resource) || typeof resource.hasRef !== "function") return;
      const stack = new Error().stack ?? "";
      if (!/@slack[\\/]|undici|[\\/]src[\\/]slack[\\/]/.test(stack)) return;
      const timer = resource as { hasRef(): boolean };
      live.set(id, { timer, stack });
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  return {
    pending: () => [...live.values()].filter((t) => t.timer.hasRef()).map((t) => t.stack),
    stop: () => hook.disable(),
  };
}

describe("the Slack bot in Socket Mode: real Bolt and SocketModeClient, a fake Socket Mode server", () => {
  let socket: FakeSocketMode;
  let slack: FakeSlack;
  let work: { dir: string; remove(): void };
  let bot: Bot | undefined;
  let timers: ReturnType<typeof watchBotTimers>;

  beforeAll(async () => {
    socket = await startFakeSocketMode();
    slack = await startFakeSlack({ socketMode: { url: () => socket.connectionUrl() } });
    work = workdir();
  });
  afterAll(async () => {
    timers?.stop();
    await bot?.stop();
    await Promise.all([socket?.close(), slack?.close()]);
    work?.remove();
  });

  it("connects, acks /dbbackup help over the socket with the ephemeral help, and closes cleanly on stop", async () => {
    timers = watchBotTimers();
    const settings = loadSlackSettings({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_APP_TOKEN: slack.appToken,
      SLACK_API_URL: slack.url,
      DBBACKUP_CHANNEL: CHANNEL,
    });
    expect(settings.appToken).toMatch(/^xapp-/);
    const config = loadConfig({ cwd: work.dir, env: {} });
    bot = createBot({ config, settings, logger: createLogger("silent") });

    await bot.start();
    // start() resolves once Slack's hello arrived: the bot token was checked, then the app token opened a link.
    expect(slack.callsTo("auth.test").map((c) => c.token)).toContain(slack.token);
    const open = slack.callsTo("apps.connections.open");
    expect(open.map((c) => [c.token, c.response.ok])).toEqual([[slack.appToken, true]]);
    const connection = await socket.waitForConnection(3_000);
    expect(connection.open).toBe(true);

    const envelopeId = socket.slashCommand({ text: "help", user_id: ALICE, channel_id: CHANNEL });
    const ack = await socket.waitForAck(envelopeId, 3_000);
    expect(ack.elapsedMs).toBeLessThan(3_000);
    expect(ack.connectionId).toBe(connection.id);
    expect(ack.payload?.response_type).toBe("ephemeral");
    expect(ack.payload && visibleText(ack.payload)).toContain("/dbbackup");
    expect(String(ack.payload?.text)).toContain("/dbbackup");
    // Help is answered in the ack itself: nothing posted to the channel.
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);

    await bot.stop();
    bot = undefined;
    // Bolt's stop() doesn't wait for the close handshake, so wait for it here (bounded).
    await socket.waitForAllClosed(3_000);
    expect(connection.closeStartedBy).toBe("client");
    expect(connection.clientCloseCode).toBe(1000);
    expect(connection.closedCleanly).toBe(true);
    expect(connection.open).toBe(false);
    expect(socket.connections).toHaveLength(1); // no reconnect after a deliberate stop
  });

  it("the fakes refuse what Slack would: the wrong token type, and a used or unknown ticket", async () => {
    const open = async (token: string | undefined) => {
      const r = await fetch(`${slack.url}apps.connections.open`, {
        method: "POST",
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(3_000),
      });
      return (await r.json()) as { ok: boolean; error?: string; url?: string };
    };
    expect(await open(slack.token)).toEqual({ ok: false, error: "not_allowed_token_type" });
    expect(await open(undefined)).toEqual({ ok: false, error: "not_authed" });
    expect(await open("xapp-fake-other-app")).toEqual({ ok: false, error: "invalid_auth" });
    const post = await fetch(`${slack.url}chat.postMessage`, {
      method: "POST",
      headers: { authorization: `Bearer ${slack.appToken}`, "content-type": "application/json" },
      body: JSON.stringify({ channel: CHANNEL, text: "hi" }),
      signal: AbortSignal.timeout(3_000),
    });
    expect(await post.json()).toEqual({ ok: false, error: "not_allowed_token_type" });

    const upgrade = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(url.replace(/^ws:/, "http:"), {
          headers: {
            connection: "Upgrade",
            upgrade: "websocket",
            "sec-websocket-version": "13",
            "sec-websocket-key": randomBytes(16).toString("base64"),
          },
          timeout: 3_000,
        });
        req.on("upgrade", (res, sock) => {
          sock.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on("response", (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy(new Error("upgrade timed out")));
        req.on("error", reject);
        req.end();
      });
    const used = socket.connections[0]?.url ?? "";
    expect(used).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    expect(await upgrade(used)).toBe(401);
    expect(await upgrade(`${socket.baseUrl}/link/?ticket=made-up`)).toBe(401);
    const fresh = (await open(slack.appToken)).url ?? "";
    expect(await upgrade(fresh)).toBe(101);
    await socket.waitForAllClosed(3_000);
  });

  it("leaves nothing running once the bot and both fakes are closed", async () => {
    await Promise.all([socket.close(), slack.close()]);
    // Client-side keep-alive sockets go once they see the fakes' FIN: poll briefly, bounded.
    const leftover = () => {
      const now = resources();
      return [
        ...Object.entries({ TCPSocketWrap: now.TCPSocketWrap ?? 0, TCPServerWrap: now.TCPServerWrap ?? 0 })
          .filter(([, n]) => n > 0)
          .map(([kind, n]) => `${n} ${kind}`),
        ...timers.pending().map((stack) => `a pending timer from ${stack}`),
      ];
    };
    for (let i = 0; i < 50 && leftover().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    timers.stop();
    expect(leftover()).toEqual([]);
  });
});
