import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { RunningJob } from "../../commands/kit/context.js";
import type { AnyVerb, BotHooks, SlackJobViews } from "../../commands/kit/verb.js";
import type { SlackMessage } from "../../commands/views/slack/blocks.js";
import type { Config } from "../config.js";
import { clearError, onTheBotsHost } from "./failures.js";

type Views = SlackJobViews<unknown, unknown>;

export interface JobMessagesDeps {
  app: App;
  config: Config;
  channel: string;
  logger: Logger;
  hooks: BotHooks;
}

/** A job's messages: its one channel message (posted, updated, finished), its thread, a word to the asker. */
export class JobMessages {
  constructor(private readonly deps: JobMessagesDeps) {}

  /** What a person in Slack reads of an error: no path on the bot's host. */
  say(text: string): string {
    return onTheBotsHost(text, this.deps.config.backupsDir);
  }

  async post(message: SlackMessage, extra: { thread_ts?: string } = {}): Promise<string | undefined> {
    const r = await this.deps.app.client.chat.postMessage({
      channel: this.deps.channel,
      ...message,
      ...extra,
    });
    return r.ts;
  }

  updater(ts: string | undefined) {
    return async (message: SlackMessage) => {
      if (ts) await this.deps.app.client.chat.update({ channel: this.deps.channel, ts, ...message });
    };
  }

  /** Tells the asker privately when the channel can't be posted to: the job still runs. */
  async tellRequester(userId: string, askedIn: string | undefined, text: string): Promise<void> {
    if (!askedIn) return;
    await this.deps.app.client.chat
      .postEphemeral({ channel: askedIn, user: userId, text })
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: error, userId }, "could not tell the requester either");
      });
  }

  async succeeded(
    verb: AnyVerb,
    views: Views,
    result: unknown,
    job: RunningJob,
    ts: string | undefined,
    askedIn: string | undefined,
  ): Promise<void> {
    await this.updater(ts)(
      verb.slack?.render(result, new Date(), job.requestedBy) ?? { text: "done", blocks: [] },
    ).catch((error: unknown) => this.deps.logger.error({ err: error }, "final update failed"));
    const thread = views.thread?.(result);
    if (thread && ts) await this.post(thread, { thread_ts: ts });
    views.after?.(result, this.deps.hooks);
    if (!ts) await this.tellRequester(job.requestedBy, askedIn, views.doneText(result));
  }

  async failed(
    verb: AnyVerb,
    views: Views,
    args: unknown,
    error: unknown,
    job: RunningJob,
    ts: string | undefined,
    askedIn: string | undefined,
  ): Promise<void> {
    const clear = clearError(error);
    this.deps.logger.error(
      { err: error, verb: verb.name, userId: job.requestedBy },
      "a job from Slack failed",
    );
    const view = views.failed(
      args,
      job.requestedBy,
      this.say(clear.message),
      this.say(clear.hint),
      clear.code,
    );
    await (ts ? this.updater(ts)(view) : this.post(view).then(() => undefined)).catch(() => {});
    if (!ts)
      await this.tellRequester(
        job.requestedBy,
        askedIn,
        `The ${job.title} failed: ${this.say(clear.message)}`,
      );
  }
}
