import { randomUUID } from "node:crypto";
import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext } from "../../commands/context.js";
import { describeRecovery, recoverAfterDeadInstances } from "../../commands/recovery.js";
import type { Config } from "../config.js";
import { audit } from "../state/audit.js";
import { type Job, JobStore } from "../state/jobs.js";
import type { StateStore } from "../state/store.js";
import { backupDoneView, backupFailedView, backupStartedView, restoreHintView } from "./backup-views.js";
import { escapeMrkdwn, type SlackMessage } from "./blocks.js";
import { clearError, onTheBotsHost, slackErrorCode } from "./failures.js";
import { SlackProgress } from "./progress.js";
import { restoreTestFailedView, restoreTestView } from "./restore-views.js";
import type { SlackSettings } from "./settings.js";

export interface RunsDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  state: StateStore;
  progressIntervalMs?: number;
  /** May this person cancel someone else's backup? (the approvers may) */
  isApprover(userId: string): Promise<boolean>;
  /** After a verified backup (a pre-upgrade one may cover a window; then retention). */
  afterBackup(label: string | null): void;
}

/**
 * The bot's long work, outside the listeners: backups and restore tests with one channel message
 * each (updated in place), their job records, cancel, and what dead instances left.
 */
export function createRuns(deps: RunsDeps) {
  const { app, config, settings, logger, state } = deps;
  const root = config.backupsDir;
  /** What a person in Slack reads of an error: no path on the bot's host. */
  const say = (text: string) => onTheBotsHost(text, root);
  const jobStore = new JobStore(state);
  const live = new Map<string, { job: Job; abort: AbortController }>();
  const started = new Set<Promise<void>>();
  // Our lease lapsed (the process stalled): another bot may have reported our jobs interrupted.
  state.onLeaseLost((why) => {
    logger.error({ why }, "this bot lost its lease; stopping the backups it runs");
    for (const { abort } of live.values()) abort.abort();
  });

  const post = async (message: SlackMessage, extra: { thread_ts?: string } = {}) => {
    const r = await app.client.chat.postMessage({ channel: settings.channel, ...message, ...extra });
    return r.ts;
  };

  /** Tells the asker privately when the channel can't be posted to: the backup still runs. */
  async function tellRequester(userId: string, channel: string | undefined, text: string): Promise<void> {
    if (!channel) return;
    await app.client.chat.postEphemeral({ channel, user: userId, text }).catch((error: unknown) => {
      logger.warn({ err: error, userId }, "could not tell the requester either");
    });
  }

  async function runBackup(
    userId: string,
    env: string | undefined,
    label: string | undefined,
    extra: { approvedBy?: string | null; askedIn?: string } = {},
  ): Promise<void> {
    const envName = env ?? "staging";
    const base = { env: envName, label: label ?? null, requestedBy: userId };
    const job = await jobStore.add({
      id: randomUUID().slice(0, 8),
      env: envName,
      label: label ?? null,
      requestedBy: userId,
      approvedBy: extra.approvedBy ?? null,
      startedAt: new Date().toISOString(),
      channel: null,
      ts: null,
    });
    const abort = new AbortController();
    live.set(job.id, { job, abort });
    void audit(state, "backup-started", {
      job: job.id,
      env: envName,
      label: job.label,
      by: userId,
      approvedBy: job.approvedBy,
    });
    let ts: string | undefined;
    try {
      ts = await post(
        backupStartedView({
          ...base,
          step: "starting",
          tablesDone: 0,
          tablesTotal: undefined,
          bytes: 0,
          elapsedMs: 0,
        }),
      );
      if (ts) await jobStore.setMessage(job.id, settings.channel, ts);
    } catch (error) {
      const code = slackErrorCode(error);
      logger.error({ err: error, code, channel: settings.channel }, "could not post to DBBACKUP_CHANNEL");
      await tellRequester(
        userId,
        extra.askedIn,
        `I can't post in <#${settings.channel}> (${code}); the ${envName} backup runs anyway. Invite me there: /invite @dbbackup`,
      );
    }
    const update = async (message: SlackMessage) => {
      if (ts) await app.client.chat.update({ channel: settings.channel, ts, ...message });
    };
    const progress = new SlackProgress(base, update, deps.progressIntervalMs);
    const ctx: CommandContext = {
      config,
      requestedBy: userId,
      onEvent: progress.handle,
      signal: abort.signal,
      via: "slack",
      jobId: job.id,
    };
    try {
      const { run } = await import("../../commands/backup.js");
      const result = await run(ctx, { env: envName, ...(label ? { label } : {}), restoreHint: true });
      progress.close();
      void audit(state, "backup-finished", {
        job: job.id,
        env: envName,
        id: result.id,
        stage: result.stage ?? null,
      });
      await update(backupDoneView(result)).catch((error: unknown) =>
        logger.error({ err: error }, "final update failed"),
      );
      if (result.restoreCommand && ts) await post(restoreHintView(result.restoreCommand), { thread_ts: ts });
      deps.afterBackup(result.label);
      if (!ts)
        await tellRequester(
          userId,
          extra.askedIn,
          `The ${envName} backup ${result.id} is verified (stage ${result.stage}).`,
        );
    } catch (error) {
      progress.close();
      const clear = clearError(error);
      void audit(state, clear.code === "cancelled" ? "backup-cancelled" : "backup-failed", {
        job: job.id,
        env: envName,
        code: clear.code,
      });
      logger.error({ err: error, env: envName, userId }, "backup from Slack failed");
      await update(backupFailedView(envName, userId, say(clear.message), say(clear.hint), clear.code)).catch(
        () => {},
      );
      if (!ts)
        await tellRequester(userId, extra.askedIn, `The ${envName} backup failed: ${say(clear.message)}`);
    } finally {
      live.delete(job.id);
      await jobStore.remove(job.id);
    }
  }

  async function runRestoreTest(userId: string, ref: string, env: string | undefined): Promise<void> {
    const what = `${ref}${env ? ` ${env}` : ""}`;
    let ts: string | undefined;
    try {
      ts = await post({
        text: `${userId} started a restore test of ${what}`,
        blocks: [
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: `:hourglass_flowing_sand: <@${userId}> started a restore test of \`${escapeMrkdwn(what)}\``,
            },
          },
        ],
      });
    } catch (error) {
      logger.error({ err: error, code: slackErrorCode(error) }, "could not post the restore test");
    }
    const show = async (m: SlackMessage) => {
      if (ts) await app.client.chat.update({ channel: settings.channel, ts, ...m });
      else await app.client.chat.postMessage({ channel: settings.channel, ...m });
    };
    try {
      const { run } = await import("../../commands/restore-test.js");
      const { result } = await run(
        { config, requestedBy: userId, cwd: root, via: "slack" },
        { ref, ...(env ? { env } : {}) },
      );
      void audit(state, "request", { verb: "restore-test", id: result.id, by: userId, ok: result.ok });
      await show(restoreTestView(result, userId));
    } catch (error) {
      const e = clearError(error, "The restore test failed unexpectedly.");
      logger.error({ err: error }, "restore test from Slack failed");
      await show(restoreTestFailedView(what, userId, say(e.message), say(e.hint), e.code)).catch(() => {});
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
        `The bot running this backup stopped (started ${job.startedAt.slice(11, 16)} UTC, pid ${job.pid} on ${job.host}); nothing was kept.`,
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

  async function cancel(userId: string, id: string | undefined): Promise<string> {
    const mine = [...live.values()];
    const target = id ? live.get(id) : mine.length === 1 ? mine[0] : undefined;
    if (!target) {
      if (mine.length === 0) return "Nothing is running.";
      return `Which one? ${mine.map((m) => `\`${m.job.id}\` (${m.job.env})`).join(", ")}: /dbbackup cancel <id>`;
    }
    const may = target.job.requestedBy === userId || (await deps.isApprover(userId));
    if (!may) return "Only the person who asked for it or an approver can cancel it.";
    target.abort.abort();
    void audit(state, "backup-cancelled", { job: target.job.id, env: target.job.env, by: userId });
    return `Cancelling the ${target.job.env} backup \`${target.job.id}\`: pg_dump is stopped and nothing is kept.`;
  }

  return {
    runBackup,
    runRestoreTest,
    recoverInterrupted,
    cancel,
    /** Starts work in the background, kept track of until it ends (a failure is logged). */
    start(work: Promise<void>): void {
      const job = work.catch((error: unknown) => logger.error({ err: error }, "a Slack job failed"));
      started.add(job);
      void job.finally(() => started.delete(job));
    },
    /** Work still running. */
    running: () => [...started],
    /** Backups running now, for status. */
    jobs: () => [...live.values()].map((m) => m.job),
    /** Shutdown past its grace: cancels every running backup (recorded); returns how many. */
    cancelAll(by: string): number {
      for (const { job, abort } of live.values()) {
        void audit(state, "backup-cancelled", { job: job.id, env: job.env, by });
        abort.abort();
      }
      return live.size;
    },
  };
}

export type Runs = ReturnType<typeof createRuns>;
