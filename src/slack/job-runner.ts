import { randomUUID } from "node:crypto";
import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { runAudited } from "../../commands/kit/audited-run.js";
import type { CommandContext, JobControl, RunningJob } from "../../commands/kit/context.js";
import type { AnyVerb, BotHooks, SlackJobViews } from "../../commands/kit/verb.js";
import { QUEUED_VERBS, runOnWorker } from "../../commands/kit/worker-run.js";
import type { SlackMessage } from "../../commands/views/slack/blocks.js";
import type { Config } from "../config.js";
import { audit, jobAuditKinds } from "../state/audit.js";
import { JobStore } from "../state/jobs.js";
import type { StateStore } from "../state/store.js";
import { clearError, onTheBotsHost, slackErrorCode } from "./failures.js";
import { SlackProgress } from "./progress.js";

export interface JobRunnerDeps {
  app: App;
  config: Config;
  /** DBBACKUP_CHANNEL: where every job's message goes. */
  channel: string;
  logger: Logger;
  state: StateStore;
  progressIntervalMs?: number;
  /** May this person cancel someone else's job? (the approvers may) */
  isApprover(userId: string): Promise<boolean>;
  /** What the verbs may ask of the bot once a job is done. */
  hooks: BotHooks;
  /** The context every verb gets from the bot (settings, clock, jobs). */
  contextFor(userId: string): CommandContext;
}

/** Who asked, and how far the request got: an approver, the channel it was asked in. */
export interface JobRequest {
  requestedBy: string;
  approvedBy?: string | null;
  askedIn?: string;
}

type Live = { job: RunningJob; abort: AbortController; kinds: ReturnType<typeof jobAuditKinds> };
type Views = SlackJobViews<unknown, unknown>;

/**
 * The bot's long work, for every verb whose Slack side is a job: one channel message each, updated
 * in place as it goes and at its end, a record in the state while it runs (when the verb keeps one),
 * audit lines, status and cancel.
 */
export class JobRunner {
  private readonly jobStore: JobStore;
  private readonly live = new Map<string, Live>();
  private readonly started = new Set<Promise<void>>();

  constructor(private readonly deps: JobRunnerDeps) {
    this.jobStore = new JobStore(deps.state);
    // Our lease lapsed (the process stalled): another bot may have reported our jobs interrupted.
    deps.state.onLeaseLost((why) => {
      deps.logger.error({ why }, "this bot lost its lease; stopping the jobs it runs");
      for (const { abort } of this.live.values()) abort.abort();
    });
  }

  /** Runs one job to its end: announced, run with progress, reported; never throws for the job's failure. */
  readonly runJob = async (verb: AnyVerb, args: unknown, request: JobRequest): Promise<void> => {
    const views = verb.slack?.job as Views | undefined;
    if (!views) throw new Error(`${verb.name} is not a job in Slack`);
    const userId = request.requestedBy;
    const entry: Live = {
      job: {
        id: randomUUID().slice(0, 8),
        env: views.env(args),
        label: views.label(args),
        title: views.title(args),
        requestedBy: userId,
        startedAt: new Date().toISOString(),
      },
      abort: new AbortController(),
      kinds: jobAuditKinds(views.auditAs),
    };
    const ts = await this.begin(views, args, request, entry);
    const progressView = views.progress;
    const progress = progressView
      ? new SlackProgress(
          (p) => progressView(args, userId, p),
          this.updater(ts),
          this.deps.progressIntervalMs,
        )
      : undefined;
    const ctx: CommandContext = {
      ...this.deps.contextFor(userId),
      signal: entry.abort.signal,
      jobId: entry.job.id,
      approvedBy: request.approvedBy ?? null,
      cwd: this.deps.config.backupsDir,
      ...(progress ? { onEvent: progress.handle } : {}),
    };
    try {
      const checked = verb.args.parse(args);
      const approvedBy = request.approvedBy ?? null;
      // DBBACKUP_RUN_ON=workers: the long verbs are queued for a worker, which audits them.
      const result =
        this.deps.config.runOn === "workers" && QUEUED_VERBS.has(verb.name)
          ? await runOnWorker(verb, ctx, checked, approvedBy)
          : await runAudited(verb, ctx, checked, approvedBy);
      progress?.close();
      await this.succeeded(verb, views, result, entry, ts, request.askedIn);
    } catch (error) {
      progress?.close();
      await this.failed(verb, views, args, error, entry, ts, request.askedIn);
    } finally {
      this.live.delete(entry.job.id);
      if (views.recorded) await this.jobStore.remove(entry.job.id);
    }
  };

  /** Status and cancel, as the verbs see them. */
  readonly control: JobControl = {
    list: () => [...this.live.values()].map((m) => m.job),
    cancel: (userId, id) => this.cancel(userId, id),
  };

  /** Starts work in the background, kept track of until it ends (a failure is logged). */
  readonly start = (work: Promise<void>): void => {
    const job = work.catch((error: unknown) => this.deps.logger.error({ err: error }, "a Slack job failed"));
    this.started.add(job);
    void job.finally(() => this.started.delete(job));
  };

  /** Work still running. */
  running(): Promise<void>[] {
    return [...this.started];
  }

  /** Shutdown past its grace: cancels every running job (recorded); returns how many. */
  cancelAll(by: string): number {
    for (const { job, abort, kinds } of this.live.values()) {
      void audit(this.deps.state, kinds.cancelled, { job: job.id, env: job.env, by });
      abort.abort();
    }
    return this.live.size;
  }

  private async cancel(userId: string, id: string | undefined): Promise<string> {
    const mine = [...this.live.values()];
    const target = id ? this.live.get(id) : mine.length === 1 ? mine[0] : undefined;
    if (!target) {
      if (mine.length === 0) return "Nothing is running.";
      return `Which one? ${mine.map((m) => `\`${m.job.id}\` (${m.job.env})`).join(", ")}: /dbbackup cancel <id>`;
    }
    const may = target.job.requestedBy === userId || (await this.deps.isApprover(userId));
    if (!may) return "Only the person who asked for it or an approver can cancel it.";
    target.abort.abort();
    void audit(this.deps.state, target.kinds.cancelled, {
      job: target.job.id,
      env: target.job.env,
      by: userId,
    });
    return `Cancelling the ${target.job.title} \`${target.job.id}\`: it is stopped and nothing is kept.`;
  }

  /** What a person in Slack reads of an error: no path on the bot's host. */
  private say(text: string): string {
    return onTheBotsHost(text, this.deps.config.backupsDir);
  }

  private async post(message: SlackMessage, extra: { thread_ts?: string } = {}): Promise<string | undefined> {
    const r = await this.deps.app.client.chat.postMessage({
      channel: this.deps.channel,
      ...message,
      ...extra,
    });
    return r.ts;
  }

  private updater(ts: string | undefined) {
    return async (message: SlackMessage) => {
      if (ts) await this.deps.app.client.chat.update({ channel: this.deps.channel, ts, ...message });
    };
  }

  /** Tells the asker privately when the channel can't be posted to: the job still runs. */
  private async tellRequester(userId: string, askedIn: string | undefined, text: string): Promise<void> {
    if (!askedIn) return;
    await this.deps.app.client.chat
      .postEphemeral({ channel: askedIn, user: userId, text })
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: error, userId }, "could not tell the requester either");
      });
  }

  /** Records and announces a job; its channel message's ts, when the channel could be posted to. */
  private async begin(views: Views, args: unknown, request: JobRequest, entry: Live) {
    const { job } = entry;
    const { channel, logger } = this.deps;
    if (views.recorded)
      await this.jobStore.add({ ...job, approvedBy: request.approvedBy ?? null, channel: null, ts: null });
    this.live.set(job.id, entry);
    try {
      const ts = await this.post(views.started(args, job.requestedBy));
      if (ts && views.recorded) await this.jobStore.setMessage(job.id, channel, ts);
      return ts;
    } catch (error) {
      const code = slackErrorCode(error);
      logger.error({ err: error, code, channel }, "could not post to DBBACKUP_CHANNEL");
      await this.tellRequester(
        job.requestedBy,
        request.askedIn,
        `I can't post in <#${channel}> (${code}); the ${job.title} runs anyway. Invite me there: /invite @dbbackup`,
      );
      return undefined;
    }
  }

  private async succeeded(
    verb: AnyVerb,
    views: Views,
    result: unknown,
    entry: Live,
    ts: string | undefined,
    askedIn: string | undefined,
  ): Promise<void> {
    const { job } = entry;
    await this.updater(ts)(
      verb.slack?.render(result, new Date(), job.requestedBy) ?? { text: "done", blocks: [] },
    ).catch((error: unknown) => this.deps.logger.error({ err: error }, "final update failed"));
    const thread = views.thread?.(result);
    if (thread && ts) await this.post(thread, { thread_ts: ts });
    views.after?.(result, this.deps.hooks);
    if (!ts) await this.tellRequester(job.requestedBy, askedIn, views.doneText(result));
  }

  private async failed(
    verb: AnyVerb,
    views: Views,
    args: unknown,
    error: unknown,
    entry: Live,
    ts: string | undefined,
    askedIn: string | undefined,
  ): Promise<void> {
    const { job } = entry;
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
