import { App, HTTPReceiver, LogLevel, type Logger as SlackLogger } from "@slack/bolt";
import type { Logger } from "pino";
import { type SlackSettings, webClientOptions } from "../../commands/kit/slack-settings.js";
import { audit } from "../state/audit.js";
import type { StateStore } from "../state/store.js";
import { replayGate } from "./request-gate.js";

function slackLogger(logger: Logger): SlackLogger {
  let level = LogLevel.WARN;
  return {
    debug: (...msg) => logger.debug({ slack: msg.map(String).join(" ") }),
    info: (...msg) => logger.info({ slack: msg.map(String).join(" ") }),
    warn: (...msg) => logger.warn({ slack: msg.map(String).join(" ") }),
    error: (...msg) => logger.error({ slack: msg.map(String).join(" ") }),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * The Bolt app: Socket Mode with an app token, else HTTP with Bolt's own receiver behind the replay
 * gate (a signed request seen before is answered, not run; one dated ahead gets 401).
 */
export function createBoltApp(settings: SlackSettings, logger: Logger, state: StateStore): App {
  const common = {
    token: settings.botToken,
    logger: slackLogger(logger),
    logLevel: LogLevel.WARN,
    // auth.test runs in start() (app.init), where a bad token fails the start with a clear message.
    deferInitialization: true,
    clientOptions: webClientOptions(settings.apiUrl),
  };
  if (settings.appToken !== undefined) {
    return new App({
      ...common,
      socketMode: true,
      appToken: settings.appToken,
      endpoints: "/slack/events",
      port: settings.port,
    });
  }
  const receiver = new HTTPReceiver({
    signingSecret: settings.signingSecret ?? "",
    endpoints: "/slack/events",
    port: settings.port,
    logger: slackLogger(logger),
    logLevel: LogLevel.WARN,
  });
  receiver.requestListener = replayGate(
    {
      signingSecret: settings.signingSecret ?? "",
      logger,
      claimOnce: (key, ttlMs) => state.claimOnce(key, ttlMs),
      onReplay: () => void audit(state, "replay-refused", { via: "slack" }),
    },
    receiver.requestListener,
  );
  return new App({ ...common, receiver });
}
