import type { App, RespondArguments } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext } from "../../../../commands/kit/context.js";
import type { Registry } from "../../../../commands/kit/registry.js";
import type { AnyVerb, ApprovalAsk, BotHooks, SlackSurface } from "../../../../commands/kit/verb.js";
import type { SlackMessage } from "../../../../commands/views/slack/blocks.js";
import { usageErrorView } from "../../../../commands/views/slack/views.js";
import type { Config } from "../../../config.js";
import { DbBackupError, isDbBackupError } from "../../../errors.js";
import { clearError } from "../../failures.js";
import type { JobRequest } from "../../job-runner.js";
import { slashRequest } from "../../slash-request.js";

export interface SlashCommandDeps {
  config: Config;
  approvalEnvs: readonly string[];
  logger: Logger;
  /** The verbs, loaded as the bot starts. */
  registry: Promise<Registry>;
  /** Long work: started in the background and kept track of (shutdown waits for it). */
  start(work: Promise<void>): void;
  /** A verb whose Slack side is a job, run by the bot's job runner. */
  runJob(verb: AnyVerb, args: unknown, request: JobRequest): Promise<void>;
  requestApproval(
    userId: string,
    env: string,
    label: string | null,
    reason: string | null,
    restore?: ApprovalAsk["restore"],
  ): Promise<void>;
  hooks: BotHooks;
  contextFor(userId: string): CommandContext;
  /** Text for Slack: no path on the bot's host. */
  say(text: string): string;
  /** Why this person (in this channel) may not ask, or undefined. */
  whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined>;
  /** False once shutting down. */
  accepting(): boolean;
}

type Ack = (response?: RespondArguments) => Promise<void>;
type Answer = { view: SlackMessage; inChannel: boolean };

/** `/dbbackup …`: read, checked, answered at once (Slack waits 3 seconds), long work started after. */
export function register(app: App, deps: SlashCommandDeps): void {
  app.command("/dbbackup", async ({ command, ack: boltAck, client }) => {
    let acked = false;
    const ack: Ack = async (response) => {
      acked = true;
      await boltAck(response);
    };
    const asked: Asked = {
      user: command.user_id,
      channel: command.channel_id,
      ack,
      tellPrivately: (view) =>
        client.chat.postEphemeral({ channel: command.channel_id, user: command.user_id, ...view }),
      postInChannel: (view) => client.chat.postMessage({ channel: command.channel_id, ...view }),
    };
    try {
      const request = await admit(deps, command.text ?? "", asked);
      if (request) await answer(deps, request, asked);
    } catch (error) {
      // Every refusal and failure reaches the person who asked: before the ack in its answer, after it privately.
      deps.logger.error({ err: error }, "/dbbackup failed");
      const view = errorView(deps, error);
      if (!acked) await boltAck({ response_type: "ephemeral", ...view });
      else
        await asked
          .tellPrivately(view)
          .catch((failure: unknown) => deps.logger.warn({ err: failure }, "could not tell the asker either"));
    }
  });
}

/** Who asked, where, and the ways to answer them. */
interface Asked {
  user: string;
  channel: string;
  ack: Ack;
  tellPrivately(view: SlackMessage): Promise<unknown>;
  postInChannel(view: SlackMessage): Promise<unknown>;
}

/** A failure as the asker reads it (logged when it isn't one of ours). */
function errorView(deps: SlashCommandDeps, error: unknown, verb?: string): SlackMessage {
  const e = clearError(error);
  if (verb && !isDbBackupError(error)) deps.logger.error({ err: error, verb }, "a Slack request failed");
  return usageErrorView(deps.say(e.message), deps.say(e.hint));
}

/** The request read and its asker let in; undefined when they were already answered (refused). */
async function admit(deps: SlashCommandDeps, text: string, asked: Asked) {
  if (!deps.accepting()) {
    await asked.ack({ response_type: "ephemeral", text: "dbbackup is restarting; ask again in a minute." });
    return undefined;
  }
  let request: { verb: AnyVerb; args: unknown };
  try {
    request = slashRequest(text, await deps.registry, deps.config, deps.approvalEnvs);
  } catch (error) {
    const e = isDbBackupError(error)
      ? error
      : new DbBackupError("usage", "I couldn't read that command.", "Try /dbbackup help.");
    await asked.ack({ response_type: "ephemeral", ...usageErrorView(deps.say(e.message), deps.say(e.hint)) });
    return undefined;
  }
  // Help and the version are anyone's; everything else is for the people and channels allowed.
  const refusal = request.verb.needsNoConfig ? undefined : await deps.whoMayAsk(asked.user, asked.channel);
  if (refusal) {
    await asked.ack({
      response_type: "ephemeral",
      ...usageErrorView(refusal, "Ask in the ops channel, or ask an admin to add you."),
    });
    return undefined;
  }
  return request;
}

/** A job goes to the runner (or waits for approval); an answer comes in the ack, or right after it. */
async function answer(deps: SlashCommandDeps, request: { verb: AnyVerb; args: unknown }, asked: Asked) {
  const { verb, args } = request;
  const slack: SlackSurface<unknown, unknown> | undefined = verb.slack;
  if (!slack) return;
  if (slack.mode === "job") return startJob(deps, verb, slack, args, asked);
  const reply = async (): Promise<Answer> => {
    const result = await verb.run(deps.contextFor(asked.user), args);
    const view = slack.render(result, new Date(), asked.user);
    const inChannel = slack.inChannel?.(result) ?? false;
    slack.after?.(result, deps.hooks);
    return { view, inChannel };
  };
  if (slack.inAck) {
    const { view, inChannel } = await reply().catch((error: unknown) => ({
      view: errorView(deps, error, verb.name),
      inChannel: false,
    }));
    await asked.ack({ response_type: inChannel ? "in_channel" : "ephemeral", ...view });
    return;
  }
  await asked.ack(); // it may take a while (a diff against live connects to the database)
  deps.start(
    (async () => {
      try {
        const { view, inChannel } = await reply();
        await (inChannel ? asked.postInChannel(view) : asked.tellPrivately(view));
      } catch (error) {
        await asked.tellPrivately(errorView(deps, error, verb.name));
      }
    })(),
  );
}

async function startJob(
  deps: SlashCommandDeps,
  verb: AnyVerb,
  slack: SlackSurface<unknown, unknown>,
  args: unknown,
  asked: Asked,
): Promise<void> {
  await asked.ack(); // first, always: a dump can take minutes, Slack waits 3 seconds
  const approval = slack.approval?.(args, deps.approvalEnvs) ?? null;
  if (approval !== null) {
    await deps.requestApproval(asked.user, approval.env, approval.label, approval.reason, approval.restore);
    return;
  }
  deps.start(deps.runJob(verb, args, { requestedBy: asked.user, askedIn: asked.channel }));
}
