import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { describeRecovery, recoverAfterDeadInstances } from "../../commands/kit/recovery.js";
import { backupFailedView } from "../../commands/views/slack/backup-views.js";
import { hhmm } from "../../commands/views/slack/blocks.js";
import type { Config } from "../config.js";
import { audit } from "../state/audit.js";
import { type Job, JobStore } from "../state/jobs.js";
import type { StateStore } from "../state/store.js";

export interface RecoveryDeps {
  app: App;
  config: Config;
  /** DBBACKUP_CHANNEL: where a job with no message of its own is reported. */
  channel: string;
  logger: Logger;
  state: StateStore;
}

/**
 * What dead instances left (any bot or CLI sharing this state): their folders, locks and children
 * cleaned up, and each backup a dead bot was running marked interrupted, its channel told, once
 * (claiming a job takes it off the record in one step, so two bots never both tell).
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

  return async function recoverInterrupted(): Promise<void> {
    try {
      const report = await recoverAfterDeadInstances(config, { endSessions: true });
      for (const line of describeRecovery(report))
        logger.warn({ recovery: line }, "cleaned up after a dead run");
    } catch (error) {
      logger.error({ err: error }, "cleaning up after dead runs failed");
    }
    for (const job of await jobStore.claimOrphans()) await reportInterrupted(job);
  };
}
