import { randomUUID } from "node:crypto";
import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { runAudited } from "../../commands/kit/audited-run.js";
import type { CommandContext, JobControl, RunningJob } from "../../commands/kit/context.js";
import type { AnyVerb, BotHooks, SlackJobViews } from "../../commands/kit/verb.js";
import { followWorkerJob, LEASE_LOST, QUEUED_VERBS, runOnWorker } from "../../commands/kit/worker-run.js";
import type { Config } from "../config.js";
import { audit, jobAuditKinds } from "../state/audit.js";
import { type Job, JobStore } from "../state/jobs.js";
import type { StateStore } from "../state/store.js";
import { slackErrorCode } from "./failures.js";
import { JobMessages } from "./job-messages.js";
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

type Live = {
  job: RunningJob;
  abort: AbortController;
  kinds: ReturnType<typeof jobAuditKinds>;
  /** Run by a worker and followed from here: losing our lease stops the following, not the job. */
  followed?: boolean;
};
type Views = SlackJobViews<unknown, unknown>;

function viewsOf(verb: AnyVerb): Views {
  const views = verb.slack?.job as Views | undefined;
  if (!views) throw new Error(`${verb.name} is not a job in Slack`);
  return views;
}

function liveEntry(views: Views, args: unknown, requestedBy: string, id: string, startedAt: string): Live {
  return {
    job: {
      id,
      env: views.env(args),
      label: views.label(args),
      title: views.title(args),
      requestedBy,
      startedAt,
    },
    abort: new AbortController(),
    kinds: jobAuditKinds(views.auditAs),
  };
}

/**
 * The bot's long work, for every verb whose Slack side is a job: one channel message each, updated
 * in place as it goes and at its end, a record in the state while it runs (when the verb keeps one),
 * audit lines, status and cancel.
 */
export class JobRunner {
  private readonly jobStore: JobStore;
  private readonly messages: JobMessages;
  private readonly live = new Map<string, Live>();
  private readonly started = new Set<Promise<void>>();

  constructor(private readonly deps: JobRunnerDeps) {
    this.jobStore = new JobStore(deps.state);
    this.messages = new JobMessages(deps);
    // Our lease lapsed (the process stalled): another bot may have reported our jobs interrupted.
    deps.state.onLeaseLost((why) => {
      deps.logger.error({ why }, "this bot lost its lease; stopping the jobs it runs");
      for (const { abort, followed } of this.live.values()) abort.abort(followed ? LEASE_LOST : undefined);
    });
  }

  /** Runs one job to its end: announced, run with progress, reported; never throws for the job's failure. */
  readonly runJob = async (verb: AnyVerb, args: unknown, request: JobRequest): Promise<void> => {
    const views = viewsOf(verb);
    const entry = liveEntry(
      views,
      args,
      request.requestedBy,
      randomUUID().slice(0, 8),
      new Date().toISOString(),
    );
    // DBBACKUP_RUN_ON=workers: the long verbs are queued for a worker, which audits them.
    entry.followed = this.deps.config.runOn === "workers" && QUEUED_VERBS.has(verb.name);
    const ts = await this.begin(views, args, request, entry);
    const approvedBy = request.approvedBy ?? null;
    await this.execute(verb, args, entry, ts, request, (ctx, checked) =>
      entry.followed
        ? runOnWorker(verb, ctx, checked, approvedBy)
        : runAudited(verb, ctx, checked, approvedBy),
    );
  };

  /**
   * A job a dead replica was following on a worker: the worker still runs it, so this bot follows it
   * from here on (on the record as its own) and finishes the same channel message.
   */
  readonly adopt = async (verb: AnyVerb, args: unknown, orphan: Job): Promise<void> => {
    const views = viewsOf(verb);
    const entry = {
      ...liveEntry(views, args, orphan.requestedBy, orphan.id, orphan.startedAt),
      followed: true,
    };
    if (views.recorded)
      await this.jobStore.add({
        ...entry.job,
        approvedBy: orphan.approvedBy,
        channel: orphan.channel,
        ts: orphan.ts,
      });
    this.live.set(entry.job.id, entry);
    const request = { requestedBy: orphan.requestedBy, approvedBy: orphan.approvedBy };
    await this.execute(verb, args, entry, orphan.ts ?? undefined, request, (ctx) =>
      followWorkerJob(orphan.id, ctx),
    );
  };

  /** The job's work with progress on its message, then its report; its record gone at the end. */
  private async execute(
    verb: AnyVerb,
    args: unknown,
    entry: Live,
    ts: string | undefined,
    request: JobRequest,
    work: (ctx: CommandContext, checked: unknown) => Promise<unknown>,
  ): Promise<void> {
    const views = viewsOf(verb);
    const userId = request.requestedBy;
    const progressView = views.progress;
    const progress = progressView
      ? new SlackProgress(
          (p) => progressView(args, userId, p),
          this.messages.updater(ts),
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
      const result = await work(ctx, verb.args.parse(args));
      progress?.close();
      await this.messages.succeeded(verb, views, result, entry.job, ts, request.askedIn);
    } catch (error) {
      progress?.close();
      // Stalled past our lease while a worker runs it: the bot that took it over finishes its message.
      if (entry.followed && entry.abort.signal.reason === LEASE_LOST)
        this.deps.logger.warn(
          { job: entry.job.id },
          "stopped following a worker job: another bot follows it now",
        );
      else await this.messages.failed(verb, views, args, error, entry.job, ts, request.askedIn);
    } finally {
      this.live.delete(entry.job.id);
      if (views.recorded) await this.jobStore.remove(entry.job.id);
    }
  }

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

  /** Records and announces a job; its channel message's ts, when the channel could be posted to. */
  private async begin(views: Views, args: unknown, request: JobRequest, entry: Live) {
    const { job } = entry;
    const { channel, logger } = this.deps;
    if (views.recorded)
      await this.jobStore.add({ ...job, approvedBy: request.approvedBy ?? null, channel: null, ts: null });
    this.live.set(job.id, entry);
    try {
      const ts = await this.messages.post(views.started(args, job.requestedBy));
      if (ts && views.recorded) await this.jobStore.setMessage(job.id, channel, ts);
      return ts;
    } catch (error) {
      const code = slackErrorCode(error);
      logger.error({ err: error, code, channel }, "could not post to DBBACKUP_CHANNEL");
      await this.messages.tellRequester(
        job.requestedBy,
        request.askedIn,
        `I can't post in <#${channel}> (${code}); the ${job.title} runs anyway. Invite me there: /invite @dbbackup`,
      );
      return undefined;
    }
  }
}
