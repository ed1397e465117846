import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { describeRecovery, recoverAfterDeadInstances } from "../../commands/kit/recovery.js";
import type { Registry } from "../../commands/kit/registry.js";
import type { AnyVerb } from "../../commands/kit/verb.js";
import { backupFailedView } from "../../commands/views/slack/backup-views.js";
import { hhmm } from "../../commands/views/slack/blocks.js";
import type { Config } from "../config.js";
import { audit } from "../state/audit.js";
import { type Job, JobStore } from "../state/jobs.js";
import { PgStateStore } from "../state/pg-store.js";
import type { StateStore } from "../state/store.js";
import { workQueueOf } from "../state/work-queue.js";
import type { JobRunner } from "./job-runner.js";

export interface RecoveryDeps {
  app: App;
  config: Config;
  /** DBBACKUP_CHANNEL: where a job with no message of its own is reported. */
  channel: string;
  logger: Logger;
  state: StateStore;
  /** The verbs, to follow a dead replica's worker job with. */
  registry: Promise<Registry>;
  runner: Pick<JobRunner, "adopt" | "start">;
}

/**
 * What dead instances left (any bot or CLI sharing this state): their folders, locks and children
 * cleaned up, and each backup a dead bot was running marked interrupted, its channel told, once
 * (claiming a job takes it off the record in one step, so two bots never both tell). A job it had
 * queued for a worker is not lost: the worker still runs it, so this bot follows it from here on.
 */
export function createRecovery(deps: RecoveryDeps): () => Promise<void> {
  const { app, config, logger, state } = deps;
  const jobStore = new JobStore(state);

  async function reportInterrupted(job: Job): Promise<void> {
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
      ? app.client.chat.update({ channel: job.channel ?? deps.channel, ts: job.ts, ...view })
      : app.client.chat.postMessage({ channel: deps.channel, ...view });
    await done.catch((error: unknown) =>
      logger.warn({ err: error }, "could not report an interrupted backup"),
    );
  }

  /** The verb and arguments of a job the queue still has (a worker runs it, or has finished it). */
  async function stillQueued(job: Job): Promise<{ verb: AnyVerb; args: unknown } | undefined> {
    if (!(state instanceof PgStateStore)) return undefined;
    const row = await workQueueOf(state).get(job.id);
    const verb = row ? (await deps.registry).named(row.verb) : undefined;
    return row && verb?.slack?.job ? { verb, args: row.args } : undefined;
  }

  async function takeOver(job: Job): Promise<void> {
    const queued = await stillQueued(job).catch((error: unknown) => {
      logger.warn({ err: error, job: job.id }, "could not look the job up in the work queue");
      return undefined;
    });
    if (!queued) return reportInterrupted(job);
    void audit(state, "job-followed-elsewhere", {
      job: job.id,
      env: job.env,
      by: job.requestedBy,
      host: job.host,
    });
    deps.runner.start(deps.runner.adopt(queued.verb, queued.args, job));
  }

  return async function recoverInterrupted(): Promise<void> {
    try {
      const report = await recoverAfterDeadInstances(config, { endSessions: true });
      for (const line of describeRecovery(report))
        logger.warn({ recovery: line }, "cleaned up after a dead run");
    } catch (error) {
      logger.error({ err: error }, "cleaning up after dead runs failed");
    }
    for (const job of await jobStore.claimOrphans()) await takeOver(job);
  };
}
