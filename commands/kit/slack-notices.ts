import { webApi } from "@slack/bolt";
import type { Notice } from "../../src/guardrails/notices.js";
import { noticeView } from "../views/slack/guardrail-views.js";
import { type SlackSettings, webClientOptions } from "./slack-settings.js";

/**
 * Posts guardrail notices to DBBACKUP_CHANNEL from outside the bot (`dbbackup jobs run` on a host
 * with the bot's settings): the same messages, and their buttons work once the bot is running.
 */
export function slackNoticePoster(
  settings: Pick<SlackSettings, "botToken" | "apiUrl" | "channel" | "approvalEnvs">,
): (notice: Notice) => Promise<void> {
  const client = new webApi.WebClient(settings.botToken, webClientOptions(settings.apiUrl));
  return async (notice) => {
    await client.chat.postMessage({ channel: settings.channel, ...noticeView(notice, settings) });
  };
}
