import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext } from "../../commands/kit/context.js";
import { loadVerbs } from "../../commands/kit/registry.js";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { BotHooks } from "../../commands/kit/verb.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import type { JobReport } from "../guardrails/context.js";
import type { JobName } from "../guardrails/job-names.js";
import type { GuardrailSettings } from "../guardrails/settings.js";
import { stateFor } from "../state/open.js";
import { createBoltApp } from "./bolt-app.js";
import { SlackDirectory } from "./directory.js";
import { onTheBotsHost, slackErrorCode } from "./failures.js";
import { attachGuardrails, type Guardrails } from "./guardrails.js";
import { createJobRunner, type JobRequest } from "./job-runner.js";
import { attachApprovals } from "./listeners/approvals.js";
import { attachSlashCommand } from "./listeners/command.js";

export { slashWords } from "./listeners/command.js";

export interface Bot {
  app: App;
  /** Verifies the token (fails fast on a bad one), then listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Backups started from Slack and still running (for shutdown and tests). */
  running(): Promise<void>[];
  /** Expire pending approvals past their time and remove their buttons; returns how many. */
  sweepApprovals(now?: Date): Promise<number>;
  /**
   * SIGTERM/SIGINT: stop taking work, let running backups finish within `graceMs`, cancel what
   * is still running after that (their messages say so, nothing half-written is kept), then stop.
   */
  shutdown(graceMs: number): Promise<{ finished: number; cancelled: number }>;
  /** Runs one scheduled guardrail now (never alongside itself), as its cron would. */
  runJob(name: JobName): Promise<JobReport>;
}

export interface BotOptions {
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  /** Progress updates at most this often (tests shorten it). */
  progressIntervalMs?: number;
  /** How often expired approvals lose their buttons. */
  sweepIntervalMs?: number;
  /** How often what dead instances left is cleaned up (default: half the lease). */
  recoveryIntervalMs?: number;
  /** Schedules and thresholds of the guardrails (default: every default, no Supabase). */
  guardrails?: GuardrailSettings;
  /** Start the cron schedules with the bot (tests run jobs by hand instead). Default true. */
  schedule?: boolean;
  /** The guardrails' clock (tests move it). */
  now?: () => Date;
}

/** The bot: its listeners, its long work, the sweepers, start, stop and shutdown, wired together. */
export function createBot(options: BotOptions): Bot {
  const { config, settings, logger } = options;
  const state = stateFor(config);
  const root = config.backupsDir;
  const registry = loadVerbs();
  const app = createBoltApp(settings, logger, state);
  const say = (text: string) => onTheBotsHost(text, root);
  const approvers = new SlackDirectory(app.client, settings.approvers, logger);
  const requesters = new SlackDirectory(app.client, settings.requesters, logger);
  // Set just below: jobs end by starting guardrail jobs, and guardrail buttons start jobs.
  let guard: Guardrails | undefined;
  const hooks: BotHooks = { runGuardrailJob: (name, trigger) => guard?.hooks.runGuardrailJob(name, trigger) };
  const contextFor = (userId: string): CommandContext => ({
    config,
    requestedBy: userId,
    via: "slack",
    jobs: runner.control,
    ...(guard ? { guardrails: guard.settings, now: guard.now } : {}),
  });
  const runner = createJobRunner({
    app,
    config,
    settings,
    logger,
    state,
    ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    isApprover: async (userId) => (await approvers.members()).has(userId),
    hooks,
    contextFor,
  });
  const runVerb = async (name: string, args: unknown, request: JobRequest) =>
    runner.runJob((await registry).required(name), args, request);
  const approvals = attachApprovals({
    app,
    settings,
    logger,
    state,
    approvers,
    say,
    startApproved: (a, approvedBy) =>
      runner.start(
        runVerb(
          "backup",
          { env: a.env, ...(a.label ? { label: a.label } : {}), restoreHint: true },
          { requestedBy: a.requestedBy, approvedBy },
        ),
      ),
  });

  /** `channelId` undefined: a button on the bot's own message in DBBACKUP_CHANNEL. */
  async function whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined> {
    if (
      channelId !== undefined &&
      settings.allowedChannels.length > 0 &&
      !settings.allowedChannels.includes(channelId)
    ) {
      return "dbbackup doesn't take commands in this channel.";
    }
    if (requesters.configured && !(await requesters.members()).has(userId)) {
      return "You're not on the list of people who may ask dbbackup for backups.";
    }
    return undefined;
  }

  guard = attachGuardrails({
    app,
    config,
    settings,
    logger,
    ...(options.guardrails ? { guardrails: options.guardrails } : {}),
    ...(options.now ? { now: options.now } : {}),
    startJob: runner.start,
    whoMayAsk,
    requestApproval: approvals.request,
    runBackup: (user, env, label, askedIn) =>
      runVerb(
        "backup",
        { env, ...(label ? { label } : {}), restoreHint: true },
        { requestedBy: user, askedIn },
      ),
    runRestoreTest: (user, env) => runVerb("restore-test", { ref: "latest", env }, { requestedBy: user }),
  });
  const scheduler = guard.scheduler;

  let accepting = true;
  attachSlashCommand({
    app,
    config,
    settings,
    logger,
    registry,
    runner,
    approvals,
    hooks,
    contextFor,
    say,
    whoMayAsk,
    accepting: () => accepting,
  });
  app.error(async (error) => {
    logger.error({ err: error }, "Slack listener error");
  });

  let sweeper: NodeJS.Timeout | undefined;
  let recoverer: NodeJS.Timeout | undefined;
  const stopTimers = () => {
    if (sweeper) clearInterval(sweeper);
    if (recoverer) clearInterval(recoverer);
  };

  return {
    app,
    async start() {
      try {
        await app.init();
      } catch (error) {
        throw new DbBackupError(
          "slack_auth",
          `Slack refused SLACK_BOT_TOKEN (${slackErrorCode(error)}).`,
          "Copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page into SLACK_BOT_TOKEN.",
        );
      }
      await Promise.all([approvers.members(), requesters.members()]);
      state.holdLease("bot");
      await runner.recoverInterrupted();
      if (settings.appToken !== undefined) await app.start();
      else await app.start({ port: settings.port, host: settings.host });
      sweeper = setInterval(() => void approvals.sweep().catch(() => {}), options.sweepIntervalMs ?? 30_000);
      sweeper.unref();
      // A bot or CLI that died on this state (here or on another host) is noticed when its lease ends.
      let recovering = false;
      recoverer = setInterval(
        () => {
          if (recovering) return;
          recovering = true;
          void runner
            .recoverInterrupted()
            .catch((error: unknown) => logger.error({ err: error }, "recovery failed"))
            .finally(() => {
              recovering = false;
            });
        },
        options.recoveryIntervalMs ?? Math.max(1_000, config.leaseMs / 2),
      );
      recoverer.unref();
      if (options.schedule !== false) scheduler.start();
    },
    async stop() {
      stopTimers();
      await scheduler.stop();
      await app.stop();
    },
    runJob: (name) => scheduler.runNow(name),
    sweepApprovals: (now) => approvals.sweep(now),
    async shutdown(graceMs: number) {
      accepting = false;
      stopTimers();
      const stopping = scheduler.stop();
      const running = runner.running();
      const all = Promise.allSettled(running);
      const inTime = await Promise.race([
        all.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref()),
      ]);
      let cancelled = 0;
      if (!inTime) {
        cancelled = runner.cancelAll("shutdown");
        // pg_dump gets SIGTERM, then SIGKILL after 5 s: this wait is bounded too.
        await Promise.race([all, new Promise((r) => setTimeout(r, 15_000).unref())]);
      }
      await stopping;
      await app.stop();
      return { finished: running.length - cancelled, cancelled };
    },
    running: () => runner.running(),
  };
}
