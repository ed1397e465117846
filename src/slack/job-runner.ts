import { randomUUID } from "node:crypto";
import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext, JobControl, RunningJob } from "../../commands/kit/context.js";
import { describeRecovery, recoverAfterDeadInstances } from "../../commands/kit/recovery.js";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { AnyVerb, BotHooks, SlackJobViews } from "../../commands/kit/verb.js";
import { backupFailedView } from "../../commands/views/slack/backup-views.js";
import { hhmm, type SlackMessage } from "../../commands/views/slack/blocks.js";
import type { Config } from "../config.js";
import { audit, jobAuditKinds } from "../state/audit.js";
import { JobStore } from "../state/jobs.js";
import type { StateStore } from "../state/store.js";
import { clearError, onTheBotsHost, slackErrorCode } from "./failures.js";
import { SlackProgress } from "./progress.js";

export interface JobRunnerDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
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

/**
 * The bot's long work, for every verb whose Slack side is a job: one channel message each, updated
 * in place as it goes and at its end, a record in the state while it runs (when the verb keeps one),
 * audit lines, status and cancel, and what dead instances left.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  const { app, config, settings, logger, state } = deps;
  /** What a person in Slack reads of an error: no path on the bot's host. */
  const say = (text: string) => onTheBotsHost(text, config.backupsDir);
  const jobStore = new JobStore(state);
  const live = new Map<
    string,
    { job: RunningJob; abort: AbortController; kinds: ReturnType<typeof jobAuditKinds> }
  >();
  const started = new Set<Promise<void>>();
  // Our lease lapsed (the process stalled): another bot may have reported our jobs interrupted.
  state.onLeaseLost((why) => {
    logger.error({ why }, "this bot lost its lease; stopping the jobs it runs");
    for (const { abort } of live.values()) abort.abort();
  });

  const post = async (message: SlackMessage, extra: { thread_ts?: string } = {}) => {
    const r = await app.client.chat.postMessage({ channel: settings.channel, ...message, ...extra });
    return r.ts;
  };

  /** Tells the asker privately when the channel can't be posted to: the job still runs. */
  async function tellRequester(userId: string, channel: string | undefined, text: string): Promise<void> {
    if (!channel) return;
    await app.client.chat.postEphemeral({ channel, user: userId, text }).catch((error: unknown) => {
      logger.warn({ err: error, userId }, "could not tell the requester either");
    });
  }

  async function runJob(verb: AnyVerb, args: unknown, request: JobRequest): Promise<void> {
    const views = verb.slack?.job as SlackJobViews<unknown, unknown> | undefined;
    if (!views) throw new Error(`${verb.name} is not a job in Slack`);
    const userId = request.requestedBy;
    const job: RunningJob = {
      id: randomUUID().slice(0, 8),
      env: views.env(args),
      label: views.label(args),
      title: views.title(args),
      requestedBy: userId,
      startedAt: new Date().toISOString(),
    };
    if (views.recorded)
      await jobStore.add({ ...job, approvedBy: request.approvedBy ?? null, channel: null, ts: null });
    const abort = new AbortController();
    const kinds = jobAuditKinds(views.auditAs);
    live.set(job.id, { job, abort, kinds });
    void audit(state, kinds.started, {
      job: job.id,
      env: job.env,
      label: job.label,
      by: userId,
      approvedBy: request.approvedBy ?? null,
    });
    let ts: string | undefined;
    try {
      ts = await post(views.started(args, userId));
      if (ts && views.recorded) await jobStore.setMessage(job.id, settings.channel, ts);
    } catch (error) {
      const code = slackErrorCode(error);
      logger.error({ err: error, code, channel: settings.channel }, "could not post to DBBACKUP_CHANNEL");
      await tellRequester(
        userId,
        request.askedIn,
        `I can't post in <#${settings.channel}> (${code}); the ${job.title} runs anyway. Invite me there: /invite @dbbackup`,
      );
    }
    const update = async (message: SlackMessage) => {
      if (ts) await app.client.chat.update({ channel: settings.channel, ts, ...message });
    };
    const progressView = views.progress;
    const progress = progressView
      ? new SlackProgress((p) => progressView(args, userId, p), update, deps.progressIntervalMs)
      : undefined;
    const ctx: CommandContext = {
      ...deps.contextFor(userId),
      signal: abort.signal,
      jobId: job.id,
      cwd: config.backupsDir,
      ...(progress ? { onEvent: progress.handle } : {}),
    };
    try {
      const result = await verb.run(ctx, verb.args.parse(args));
      progress?.close();
      void audit(state, kinds.finished, { job: job.id, env: job.env, ...outcomeFields(result) });
      await update(verb.slack?.render(result, new Date(), userId) ?? { text: "done", blocks: [] }).catch(
        (error: unknown) => logger.error({ err: error }, "final update failed"),
      );
      const thread = views.thread?.(result);
      if (thread && ts) await post(thread, { thread_ts: ts });
      views.after?.(result, deps.hooks);
      if (!ts) await tellRequester(userId, request.askedIn, views.doneText(result));
    } catch (error) {
      progress?.close();
      const clear = clearError(error);
      void audit(state, clear.code === "cancelled" ? kinds.cancelled : kinds.failed, {
        job: job.id,
        env: job.env,
        code: clear.code,
      });
      logger.error({ err: error, verb: verb.name, userId }, "a job from Slack failed");
      const view = views.failed(args, userId, say(clear.message), say(clear.hint), clear.code);
      await (ts ? update(view) : post(view).then(() => undefined)).catch(() => {});
      if (!ts) await tellRequester(userId, request.askedIn, `The ${job.title} failed: ${say(clear.message)}`);
    } finally {
      live.delete(job.id);
      if (views.recorded) await jobStore.remove(job.id);
    }
  }

  /**
   * What dead instances left (any bot or CLI sharing this state): their folders, locks and children
   * cleaned up, and each backup a dead bot was running marked interrupted, its channel told, once
   * (claiming a job takes it off the record in one step, so two bots never both tell).
   */
  async function recoverInterrupted(): Promise<void> {
    try {
      const report = await recoverAfterDeadInstances(config, { endSessions: true });
      for (const line of describeRecovery(report))
        logger.warn({ recovery: line }, "cleaned up after a dead run");
    } catch (error) {
      logger.error({ err: error }, "cleaning up after dead runs failed");
    }
    for (const job of await jobStore.claimOrphans()) {
      void audit(state, "backup-interrupted", {
        job: job.id,
        env: job.env,
        by: job.requestedBy,
        host: job.host,
      });
      const view = backupFailedView(
        job.env,
        job.requestedBy,
        `The bot running this backup stopped (started ${hhmm(job.startedAt)}, pid ${job.pid} on ${job.host}); nothing was kept.`,
        `Ask again: /dbbackup ${job.env}${job.label ? ` ${job.label}` : ""}`,
      );
      const done = job.ts
        ? app.client.chat.update({ channel: job.channel ?? settings.channel, ts: job.ts, ...view })
        : app.client.chat.postMessage({ channel: settings.channel, ...view });
      await done.catch((error: unknown) =>
        logger.warn({ err: error }, "could not report an interrupted backup"),
      );
    }
  }

  const control: JobControl = {
    list: () => [...live.values()].map((m) => m.job),
    async cancel(userId, id) {
      const mine = [...live.values()];
      const target = id ? live.get(id) : mine.length === 1 ? mine[0] : undefined;
      if (!target) {
        if (mine.length === 0) return "Nothing is running.";
        return `Which one? ${mine.map((m) => `\`${m.job.id}\` (${m.job.env})`).join(", ")}: /dbbackup cancel <id>`;
      }
      const may = target.job.requestedBy === userId || (await deps.isApprover(userId));
      if (!may) return "Only the person who asked for it or an approver can cancel it.";
      target.abort.abort();
      void audit(state, target.kinds.cancelled, { job: target.job.id, env: target.job.env, by: userId });
      return `Cancelling the ${target.job.title} \`${target.job.id}\`: it is stopped and nothing is kept.`;
    },
  };

  return {
    runJob,
    recoverInterrupted,
    control,
    /** Starts work in the background, kept track of until it ends (a failure is logged). */
    start(work: Promise<void>): void {
      const job = work.catch((error: unknown) => logger.error({ err: error }, "a Slack job failed"));
      started.add(job);
      void job.finally(() => started.delete(job));
    },
    /** Work still running. */
    running: () => [...started],
    /** Shutdown past its grace: cancels every running job (recorded); returns how many. */
    cancelAll(by: string): number {
      for (const { job, abort, kinds } of live.values()) {
        void audit(state, kinds.cancelled, { job: job.id, env: job.env, by });
        abort.abort();
      }
      return live.size;
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;

/** The audit fields of a finished job: its id, stage or outcome, when the result says them. */
function outcomeFields(result: unknown): Record<string, string | boolean | null> {
  const r = (typeof result === "object" && result !== null ? result : {}) as Record<string, unknown>;
  const fields: Record<string, string | boolean | null> = {};
  if (typeof r.id === "string") fields.id = r.id;
  if ("stage" in r) fields.stage = typeof r.stage === "string" ? r.stage : null;
  if (typeof r.ok === "boolean") fields.ok = r.ok;
  return fields;
}
