import type { AddressInfo } from "node:net";
import { App, LogLevel } from "@slack/bolt";
import { type FakeSlack, startFakeSlack } from "./fake-slack.js";

export interface ListenerApp {
  app: App;
  slack: FakeSlack;
  /** The Request URL a signed slash command or click is posted to. */
  eventsUrl: string;
  signingSecret: string;
  close(): Promise<void>;
}

/**
 * A real Bolt app on 127.0.0.1 with only the listener under test registered, its Web API calls going
 * to a fake Slack: a listener is driven by the signed requests Slack would send, nothing else of the bot.
 */
export async function listenerApp(register: (app: App) => void): Promise<ListenerApp> {
  const slack = await startFakeSlack();
  const signingSecret = "listener-test-secret";
  const app = new App({
    signingSecret,
    token: slack.token,
    // With both given Bolt skips auth.test.
    botId: slack.botId,
    botUserId: slack.botUserId,
    clientOptions: { slackApiUrl: slack.url, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
  });
  register(app);
  const server = await app.start({ port: 0, host: "127.0.0.1" });
  return {
    app,
    slack,
    eventsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    signingSecret,
    async close() {
      await app.stop();
      await slack.close();
    },
  };
}
