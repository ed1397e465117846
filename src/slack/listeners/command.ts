import type { App, RespondArguments } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext } from "../../../commands/kit/context.js";
import type { Registry } from "../../../commands/kit/registry.js";
import type { SlackSettings } from "../../../commands/kit/slack-settings.js";
import type { AnyVerb, BotHooks } from "../../../commands/kit/verb.js";
import { envNames, readWords, usageFromZod } from "../../../commands/kit/words.js";
import { usageErrorView } from "../../../commands/views/slack/views.js";
import type { Config } from "../../config.js";
import { DbBackupError, isDbBackupError } from "../../errors.js";
import { clearError } from "../failures.js";
import type { JobRunner } from "../job-runner.js";
import type { Approvals } from "./approvals.js";

export interface SlashCommandDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  /** The verbs, loaded as the bot starts. */
  registry: Promise<Registry>;
  runner: JobRunner;
  approvals: Approvals;
  hooks: BotHooks;
  contextFor(userId: string): CommandContext;
  /** Text for Slack: no path on the bot's host. */
  say(text: string): string;
  /** Why this person (in this channel) may not ask, or undefined. */
  whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined>;
  /** False once shutting down. */
  accepting(): boolean;
}

/** Slack sends the text after the command; it is split like a shell would, without a shell. */
export function slashWords(text: string): string[] {
  if (text.length > 500)
    throw new DbBackupError(
      "usage",
      "That command is too long (over 500 characters).",
      "Try /dbbackup help.",
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text.replace(/[\n\t]/g, " "))) {
    throw new DbBackupError(
      "usage",
      "That command has control characters in it.",
      "Type it again without them.",
    );
  }
  return text.trim().split(/\s+/).filter(Boolean);
}

/** What was typed after /dbbackup → a verb Slack offers, and its checked arguments. */
export function slashRequest(
  text: string,
  registry: Registry,
  config: Config,
  approvalEnvs: readonly string[],
): { verb: AnyVerb; args: unknown } {
  const typed = readWords(slashWords(text), registry, envNames(config.environments.keys()));
  const { verb } = typed;
  if (!verb.slack)
    throw new DbBackupError(
      "usage",
      `/dbbackup ${verb.name} isn't available from Slack.`,
      `Run it on the bot's host: npx dbbackup ${verb.name} …`,
    );
  const words = { ...typed.words, approvalEnvs };
  const parsed = verb.args.safeParse((verb.slack.fromWords ?? verb.fromWords)(words));
  if (!parsed.success) throw usageFromZod(parsed.error);
  const args: unknown = parsed.data;
  verb.slack.check?.(args);
  return { verb, args };
}

/** `/dbbackup …`: read, checked, answered at once (Slack waits 3 seconds), long work started after. */
export function attachSlashCommand(deps: SlashCommandDeps): void {
  const { app, settings, logger, say } = deps;
  app.command("/dbbackup", async ({ command, ack: boltAck, client }) => {
    let acked = false;
    const ack = async (response?: RespondArguments) => {
      acked = true;
      await boltAck(response);
    };
    const user = command.user_id;
    const tellPrivately = (view: ReturnType<typeof usageErrorView>) =>
      client.chat.postEphemeral({ channel: command.channel_id, user, ...view });
    try {
      if (!deps.accepting()) {
        await ack({ response_type: "ephemeral", text: "dbbackup is restarting; ask again in a minute." });
        return;
      }
      let request: { verb: AnyVerb; args: unknown };
      try {
        request = slashRequest(command.text ?? "", await deps.registry, deps.config, settings.approvalEnvs);
      } catch (error) {
        const e = isDbBackupError(error)
          ? error
          : new DbBackupError("usage", "I couldn't read that command.", "Try /dbbackup help.");
        await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        return;
      }
      const { verb, args } = request;
      const slack = verb.slack;
      if (!slack) return;
      // Help and the version are anyone's; everything else is for the people and channels allowed.
      const refusal = verb.needsNoConfig ? undefined : await deps.whoMayAsk(user, command.channel_id);
      if (refusal) {
        await ack({
          response_type: "ephemeral",
          ...usageErrorView(refusal, "Ask in the ops channel, or ask an admin to add you."),
        });
        return;
      }
      if (slack.mode === "job") {
        await ack(); // first, always: a dump can take minutes, Slack waits 3 seconds
        const approval = slack.approval?.(args, settings.approvalEnvs) ?? null;
        if (approval !== null) {
          await deps.approvals.request(user, approval.env, approval.label, approval.reason);
          return;
        }
        deps.runner.start(deps.runner.runJob(verb, args, { requestedBy: user, askedIn: command.channel_id }));
        return;
      }
      const answer = async () => {
        const result = await verb.run(deps.contextFor(user), args);
        const view = slack.render(result, new Date(), user);
        const inChannel = slack.inChannel?.(result) ?? false;
        slack.after?.(result, deps.hooks);
        return { view, inChannel };
      };
      if (slack.inAck) {
        try {
          const { view, inChannel } = await answer();
          await ack({ response_type: inChannel ? "in_channel" : "ephemeral", ...view });
        } catch (error) {
          const e = clearError(error);
          if (!isDbBackupError(error))
            logger.error({ err: error, verb: verb.name }, "a Slack request failed");
          await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        }
        return;
      }
      await ack(); // it may take a while (a diff against live connects to the database)
      deps.runner.start(
        (async () => {
          try {
            const { view, inChannel } = await answer();
            if (inChannel) await client.chat.postMessage({ channel: command.channel_id, ...view });
            else await tellPrivately(view);
          } catch (error) {
            const e = clearError(error);
            if (!isDbBackupError(error))
              logger.error({ err: error, verb: verb.name }, "a Slack request failed");
            await tellPrivately(usageErrorView(say(e.message), say(e.hint)));
          }
        })(),
      );
    } catch (error) {
      // Every refusal and failure reaches the person who asked: before the ack in its answer, after it privately.
      logger.error({ err: error }, "/dbbackup failed");
      const e = clearError(error);
      const view = usageErrorView(say(e.message), say(e.hint));
      if (!acked) await boltAck({ response_type: "ephemeral", ...view });
      else
        await tellPrivately(view).catch((failure: unknown) =>
          logger.warn({ err: failure }, "could not tell the asker either"),
        );
    }
  });
}
