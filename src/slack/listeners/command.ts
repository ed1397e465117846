import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { checkLabel, isBackupId } from "../../backup/ids.js";
import { parseArgv } from "../../cli/argv.js";
import type { Config } from "../../config.js";
import { DbBackupError, isDbBackupError } from "../../errors.js";
import { escapeMrkdwn, type SlackMessage } from "../blocks.js";
import { clearError } from "../failures.js";
import type { Guardrails } from "../guardrails.js";
import type { Runs } from "../runs.js";
import type { SlackSettings } from "../settings.js";
import { helpView, listView, usageErrorView } from "../views.js";
import type { Approvals } from "./approvals.js";

export interface SlashCommandDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  runs: Runs;
  approvals: Approvals;
  guard: Guardrails;
  /** Text for Slack: no path on the bot's host. */
  say(text: string): string;
  /** Why this person (in this channel) may not ask, or undefined. */
  whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined>;
  status(): Promise<SlackMessage>;
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

/** `/dbbackup …`: read, checked, answered at once (Slack waits 3 seconds), long work started after. */
export function attachSlashCommand(deps: SlashCommandDeps): void {
  const { app, config, settings, logger, say } = deps;
  app.command("/dbbackup", async ({ command, ack: boltAck, client }) => {
    let acked = false;
    const ack: typeof boltAck = async (response) => {
      acked = true;
      await boltAck(response);
    };
    try {
      if (!deps.accepting()) {
        await ack({ response_type: "ephemeral", text: "dbbackup is restarting; ask again in a minute." });
        return;
      }
      let words: string[];
      // Undefined for the Slack-only verbs (status, cancel), which the CLI's parser doesn't know.
      let parsed: ReturnType<typeof parseArgv> | undefined;
      let reason: string | null = null;
      try {
        words = slashWords(command.text ?? "");
        if (words[0] === "keep" && words.length > 2) {
          // `/dbbackup keep <id> before the tenant split`: the words after the id are the reason.
          reason = words.slice(2).join(" ").slice(0, 200);
          words = words.slice(0, 2);
        } else if (words[0] !== undefined && settings.approvalEnvs.includes(words[0]) && words.length > 2) {
          // `/dbbackup prod pre-upgrade before the 15.8 upgrade`: what follows the label is the reason.
          reason = words.slice(2).join(" ").slice(0, 300);
          words = words.slice(0, 2);
        }
        if (words[0] === "status" || words[0] === "cancel") {
          if (words.length > 2)
            throw new DbBackupError("usage", `${words[0]} takes at most one id.`, "Try /dbbackup status.");
        } else {
          parsed = parseArgv(words, config.environments.keys());
        }
      } catch (error) {
        const e = isDbBackupError(error)
          ? error
          : new DbBackupError("usage", "I couldn't read that command.", "Try /dbbackup help.");
        await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        return;
      }
      const verb = parsed?.command.verb;
      const refusal =
        verb === "help" || verb === "version"
          ? undefined
          : await deps.whoMayAsk(command.user_id, command.channel_id);
      if (refusal) {
        await ack({
          response_type: "ephemeral",
          ...usageErrorView(refusal, "Ask in the ops channel, or ask an admin to add you."),
        });
        return;
      }
      if (!parsed) {
        if (words[0] === "status") await ack({ response_type: "ephemeral", ...(await deps.status()) });
        else
          await ack({ response_type: "ephemeral", text: await deps.runs.cancel(command.user_id, words[1]) });
        return;
      }
      const c = parsed.command;
      if (c.verb === "help" || c.verb === "version") {
        await ack({ response_type: "ephemeral", ...helpView() });
        return;
      }
      if (c.verb === "list") {
        await ack();
        const { run } = await import("../../../commands/list.js");
        const result = await run({ config, requestedBy: command.user_id }, c.args);
        await client.chat.postEphemeral({
          channel: command.channel_id,
          user: command.user_id,
          ...listView(result, new Date()),
        });
        return;
      }
      if (c.verb === "backup") {
        const env = c.args.env ?? "staging";
        if (c.args.url !== undefined) {
          await ack({
            response_type: "ephemeral",
            ...usageErrorView(
              "--url isn't accepted from Slack: a URL typed in a channel would carry its password.",
              "Set the environment's URL (DATABASE_URL_<ENV>) on the bot's host, then: /dbbackup <env> [label]",
            ),
          });
          return;
        }
        if (c.args.label !== undefined) {
          try {
            checkLabel(c.args.label);
          } catch (error) {
            if (!isDbBackupError(error)) throw error;
            await ack({ response_type: "ephemeral", ...usageErrorView(say(error.message), say(error.hint)) });
            return;
          }
        }
        await ack(); // first, always: a dump can take minutes, Slack waits 3 seconds
        if (settings.approvalEnvs.includes(env)) {
          await deps.approvals.request(command.user_id, env, c.args.label ?? null, reason);
          return;
        }
        deps.runs.start(
          deps.runs.runBackup(command.user_id, c.args.env, c.args.label, { askedIn: command.channel_id }),
        );
        return;
      }
      if (c.verb === "upgrade") {
        await deps.guard.upgrade(c.args, command.user_id, ack);
        return;
      }
      if (c.verb === "diff") {
        await deps.guard.diff(c.args, command.user_id, command.channel_id, ack);
        return;
      }
      if (c.verb === "keep") {
        const { runKeep } = await import("../../../commands/keep.js");
        try {
          // keep audits itself, the same line from Slack as from the terminal.
          const result = await runKeep(
            { config, requestedBy: command.user_id, via: "slack" },
            { ...c.args, ...(reason ? { reason } : {}) },
          );
          await ack({
            response_type: "in_channel",
            text: `:pushpin: ${result.id} is pinned${result.pin.reason ? `: ${escapeMrkdwn(result.pin.reason)}` : ""}. prune will never delete it.`,
          });
        } catch (error) {
          const e = isDbBackupError(error)
            ? error
            : new DbBackupError("usage", "Couldn't pin that backup.", "Check the id with /dbbackup list.");
          await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        }
        return;
      }
      if (c.verb === "restore-test" && !c.args.keepServer) {
        // From Slack only ids and `latest`: a path would name a folder anywhere on the bot's host.
        if (c.args.ref !== "latest" && !isBackupId(c.args.ref)) {
          await ack({
            response_type: "ephemeral",
            ...usageErrorView(
              `"${c.args.ref.slice(0, 60)}" is not a backup id.`,
              "Use an id from /dbbackup list, or latest: /dbbackup restore-test latest staging",
            ),
          });
          return;
        }
        await ack();
        deps.runs.start(deps.runs.runRestoreTest(command.user_id, c.args.ref, c.args.env));
        return;
      }
      await ack({
        response_type: "ephemeral",
        ...usageErrorView(
          `/dbbackup ${c.verb}${c.verb === "restore-test" ? " --keep-server" : ""} isn't available from Slack.`,
          `Run it on the bot's host: npx dbbackup ${c.verb} …`,
        ),
      });
    } catch (error) {
      // Every refusal and failure reaches the person who asked: before the ack in its answer, after it privately.
      logger.error({ err: error }, "/dbbackup failed");
      const e = clearError(error);
      const view = usageErrorView(say(e.message), say(e.hint));
      if (!acked) await boltAck({ response_type: "ephemeral", ...view });
      else
        await client.chat
          .postEphemeral({ channel: command.channel_id, user: command.user_id, ...view })
          .catch((failure: unknown) => logger.warn({ err: failure }, "could not tell the asker either"));
    }
  });
}
