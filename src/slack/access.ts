import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { SlackDirectory } from "./directory.js";

/**
 * Who may ask dbbackup for work, where: the allowed channels and the requesters' list.
 * `channelId` undefined: a button on the bot's own message in DBBACKUP_CHANNEL.
 */
export function accessCheck(settings: Pick<SlackSettings, "allowedChannels">, requesters: SlackDirectory) {
  return async function whoMayAsk(
    userId: string,
    channelId: string | undefined,
  ): Promise<string | undefined> {
    if (
      channelId !== undefined &&
      settings.allowedChannels.length > 0 &&
      !settings.allowedChannels.includes(channelId)
    ) {
      return "dbbackup doesn't take commands in this channel.";
    }
    if (requesters.configured && !(await requesters.members()).has(userId)) {
      return "You're not on the list of people who may ask dbbackup for backups.";
    }
    return undefined;
  };
}
