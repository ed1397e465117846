import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { CommandContext } from "../../commands/kit/context.js";
import { loadVerbs, type Registry } from "../../commands/kit/registry.js";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { BotHooks } from "../../commands/kit/verb.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import type { JobReport } from "../guardrails/context.js";
import type { JobName } from "../guardrails/job-names.js";
import type { GuardrailSettings } from "../guardrails/settings.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { accessCheck } from "./access.js";
import { type ApprovalFlow, createApprovalFlow } from "./approval-flow.js";
import { createBoltApp } from "./bolt-app.js";
import { SlackDirectory } from "./directory.js";
import { onTheBotsHost, slackErrorCode } from "./failures.js";
import { createGuardrails, type Guardrails } from "./guardrails.js";
import { startHousekeeping } from "./housekeeping.js";
import { type JobRequest, JobRunner } from "./job-runner.js";
import { type ListenerDeps, registerListeners } from "./listeners/index.js";
import { createRecovery } from "./recovery.js";

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

/** The bot's parts, built and connected, before any listener is registered. */
interface BotParts {
  options: BotOptions;
  app: App;
  state: StateStore;
  registry: Promise<Registry>;
  approvers: SlackDirectory;
  requesters: SlackDirectory;
  runner: JobRunner;
  approvals: ApprovalFlow;
  guard: Guardrails;
  hooks: BotHooks;
  /** Text for Slack: no path on the bot's host. */
  say(text: string): string;
  contextFor(userId: string): CommandContext;
  runVerb(name: string, args: unknown, request: JobRequest): Promise<void>;
  startBackup(
    requestedBy: string,
    env: string,
    label: string | null | undefined,
    extra: Partial<JobRequest>,
  ): void;
}

/** The bot: its listeners, its long work, the sweepers, start, stop and shutdown, wired together. */
export function createBot(options: BotOptions): Bot {
  const parts = buildParts(options);
  let accepting = true;
  registerListeners(
    parts.app,
    listenerDeps(parts, () => accepting),
  );
  parts.app.error(async (error) => {
    options.logger.error({ err: error }, "Slack listener error");
  });
  return lifecycle(parts, () => {
    accepting = false;
  });
}

function buildParts(options: BotOptions): BotParts {
  const { config, settings, logger } = options;
  const state = stateFor(config);
  const registry = loadVerbs();
  const app = createBoltApp(settings, logger, state);
  const approvers = new SlackDirectory(app.client, settings.approvers, logger);
  const say = (text: string) => onTheBotsHost(text, config.backupsDir);
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
  const runner = new JobRunner({
    app,
    config,
    channel: settings.channel,
    logger,
    state,
    ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    isApprover: async (userId) => (await approvers.members()).has(userId),
    hooks,
    contextFor,
  });
  const runVerb = async (name: string, args: unknown, request: JobRequest) =>
    runner.runJob((await registry).required(name), args, request);
  const startBackup: BotParts["startBackup"] = (requestedBy, env, label, extra) =>
    runner.start(
      runVerb("backup", { env, ...(label ? { label } : {}), restoreHint: true }, { requestedBy, ...extra }),
    );
  const approvals = createApprovalFlow({
    app,
    settings,
    logger,
    state,
    approvers,
    say,
    startApproved: (a, approvedBy) => {
      // A terminal that asked is waiting for this decision and runs the work itself.
      if (a.runBy === "terminal") return;
      if (a.kind === "restore")
        runner.start(runVerb("restore", a.args, { requestedBy: a.requestedBy, approvedBy }));
      else startBackup(a.requestedBy, a.env, a.label, { approvedBy });
    },
  });
  guard = createGuardrails({
    app,
    config,
    settings,
    logger,
    ...(options.guardrails ? { guardrails: options.guardrails } : {}),
    ...(options.now ? { now: options.now } : {}),
    startJob: runner.start,
  });
  const requesters = new SlackDirectory(app.client, settings.requesters, logger);
  return {
    options,
    app,
    state,
    registry,
    approvers,
    requesters,
    runner,
    approvals,
    guard,
    hooks,
    say,
    contextFor,
    runVerb,
    startBackup,
  };
}

function listenerDeps(parts: BotParts, accepting: () => boolean): ListenerDeps {
  const { options, runner, approvals } = parts;
  const { config, settings } = options;
  return {
    config,
    logger: options.logger,
    state: parts.state,
    registry: parts.registry,
    hooks: parts.hooks,
    contextFor: parts.contextFor,
    say: parts.say,
    approvals,
    channel: settings.channel,
    approvalEnvs: settings.approvalEnvs,
    isEnv: (env) => config.environments.has(env),
    whoMayAsk: accessCheck(settings, parts.requesters),
    requestApproval: approvals.request,
    start: runner.start,
    runJob: runner.runJob,
    startBackup: (user, env, label, askedIn) => parts.startBackup(user, env, label, { askedIn }),
    startRestoreTest: (user, env) =>
      runner.start(parts.runVerb("restore-test", { ref: "latest", env }, { requestedBy: user })),
    accepting,
  };
}

/** Start (token checked, directories warmed, what dead instances left recovered), stop and shutdown. */
function lifecycle(parts: BotParts, stopAccepting: () => void): Bot {
  const { options, app, state, runner, approvals } = parts;
  const { config, settings, logger } = options;
  const recoverInterrupted = createRecovery({
    app,
    config,
    channel: settings.channel,
    logger,
    state,
    registry: parts.registry,
    runner,
  });
  const scheduler = parts.guard.scheduler;
  let stopHousekeeping = () => {};
  return {
    app,
    async start() {
      await verifyToken(app);
      await Promise.all([parts.approvers.members(), parts.requesters.members()]);
      state.holdLease("bot");
      await recoverInterrupted();
      if (settings.appToken !== undefined) await app.start();
      else await app.start({ port: settings.port, host: settings.host });
      stopHousekeeping = startHousekeeping({
        logger,
        sweepApprovals: () => approvals.sweep(),
        recoverInterrupted,
        sweepIntervalMs: options.sweepIntervalMs ?? 30_000,
        recoveryIntervalMs: options.recoveryIntervalMs ?? Math.max(1_000, config.leaseMs / 2),
      });
      if (options.schedule !== false) scheduler.start();
    },
    async stop() {
      stopHousekeeping();
      await scheduler.stop();
      await app.stop();
    },
    runJob: (name) => scheduler.runNow(name),
    sweepApprovals: (now) => approvals.sweep(now),
    async shutdown(graceMs: number) {
      stopAccepting();
      stopHousekeeping();
      const stopping = scheduler.stop();
      const result = await finishOrCancel(runner, graceMs);
      await stopping;
      await app.stop();
      return result;
    },
    running: () => runner.running(),
  };
}

/** app.init runs auth.test: a bad token fails the start with what to do about it. */
async function verifyToken(app: App): Promise<void> {
  try {
    await app.init();
  } catch (error) {
    throw new DbBackupError(
      "slack_auth",
      `Slack refused SLACK_BOT_TOKEN (${slackErrorCode(error)}).`,
      "Copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page into SLACK_BOT_TOKEN.",
    );
  }
}

/** Running jobs get `graceMs` to finish; what is still running after that is cancelled. */
async function finishOrCancel(
  runner: JobRunner,
  graceMs: number,
): Promise<{ finished: number; cancelled: number }> {
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
  return { finished: running.length - cancelled, cancelled };
}
