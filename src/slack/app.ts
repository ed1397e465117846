import { randomUUID } from "node:crypto";
import { App, HTTPReceiver, LogLevel, type Logger as SlackLogger } from "@slack/bolt";
import type { Logger } from "pino";
import { z } from "zod/v3";
import type { CommandContext } from "../../commands/context.js";
import { describeRecovery, recoverAfterDeadInstances } from "../../commands/recovery.js";
import { checkLabel, isBackupId } from "../backup/ids.js";
import { parseArgv } from "../cli/argv.js";
import type { Config } from "../config.js";
import { DbBackupError, isDbBackupError } from "../errors.js";
import type { JobReport } from "../schedule/context.js";
import type { JobName } from "../schedule/job-names.js";
import type { GuardrailSettings } from "../schedule/settings.js";
import { type Approval, ApprovalStore } from "../state/approvals.js";
import { audit } from "../state/audit.js";
import { type Job, JobStore } from "../state/jobs.js";
import { stateFor } from "../state/open.js";
import { WindowStore } from "../state/windows.js";
import { SlackDirectory } from "./directory.js";
import { attachGuardrails } from "./guardrails.js";
import { onTheBotsHost } from "./host-paths.js";
import { SlackProgress } from "./progress.js";
import { replayGate } from "./request-gate.js";
import { type SlackSettings, webClientOptions } from "./settings.js";
import {
  approvalView,
  backupDoneView,
  backupFailedView,
  backupStartedView,
  escapeMrkdwn,
  helpView,
  listView,
  restoreHintView,
  restoreTestFailedView,
  restoreTestView,
  type SlackMessage,
  statusView,
  usageErrorView,
} from "./views.js";

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

function slackLogger(logger: Logger): SlackLogger {
  let level = LogLevel.WARN;
  return {
    debug: (...msg) => logger.debug({ slack: msg.map(String).join(" ") }),
    info: (...msg) => logger.info({ slack: msg.map(String).join(" ") }),
    warn: (...msg) => logger.warn({ slack: msg.map(String).join(" ") }),
    error: (...msg) => logger.error({ slack: msg.map(String).join(" ") }),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Slack sends the text after the command; it is split like a shell would, without a shell. */
export function slashWords(text: string): string[] {
  if (text.length > 500)
    throw new DbBackupError(
      "usage",
      "That command is too long (over 500 characters).",
      "Try /dbbackup help.",
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text.replace(/[\n\t]/g, " "))) {
    throw new DbBackupError(
      "usage",
      "That command has control characters in it.",
      "Type it again without them.",
    );
  }
  return text.trim().split(/\s+/).filter(Boolean);
}

export function createBot(options: BotOptions): Bot {
  const { config, settings, logger } = options;
  const socketMode = settings.appToken !== undefined;
  const state = stateFor(config);
  const root = config.backupsDir;
  let receiver: HTTPReceiver | undefined;
  if (!socketMode) {
    receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret ?? "",
      endpoints: "/slack/events",
      port: settings.port,
      logger: slackLogger(logger),
      logLevel: LogLevel.WARN,
    });
    receiver.requestListener = replayGate(
      {
        signingSecret: settings.signingSecret ?? "",
        logger,
        claimOnce: (key, ttlMs) => state.claimOnce(key, ttlMs),
        onReplay: () => void audit(state, "replay-refused", { via: "slack" }),
      },
      receiver.requestListener,
    );
  }
  const app = new App({
    token: settings.botToken,
    ...(socketMode ? { socketMode: true, appToken: settings.appToken } : { receiver }),
    ...(socketMode ? { endpoints: "/slack/events", port: settings.port } : {}),
    logger: slackLogger(logger),
    logLevel: LogLevel.WARN,
    // auth.test runs in start() (app.init), where a bad token fails the start with a clear message.
    deferInitialization: true,
    clientOptions: webClientOptions(settings.apiUrl),
  });
  const jobs = new Set<Promise<void>>();
  const envs = () => config.environments.keys();

  const post = async (message: SlackMessage, extra: { thread_ts?: string } = {}) => {
    const r = await app.client.chat.postMessage({ channel: settings.channel, ...message, ...extra });
    return r.ts;
  };

  /** What a person in Slack reads of an error: no path on the bot's host. */
  const say = (text: string) => onTheBotsHost(text, root);
  const jobStore = new JobStore(state);
  const live = new Map<string, { job: Job; abort: AbortController }>();
  // Our lease lapsed (the process stalled): another bot may have reported our jobs interrupted.
  state.onLeaseLost((why) => {
    logger.error({ why }, "this bot lost its lease; stopping the backups it runs");
    for (const { abort } of live.values()) abort.abort();
  });

  /** Tells the asker privately when the channel can't be posted to: the backup still runs. */
  async function tellRequester(userId: string, channel: string | undefined, text: string): Promise<void> {
    if (!channel) return;
    await app.client.chat.postEphemeral({ channel, user: userId, text }).catch((error: unknown) => {
      logger.warn({ err: error, userId }, "could not tell the requester either");
    });
  }

  function slackErrorCode(error: unknown): string {
    return (
      (error as { data?: { error?: string } }).data?.error ??
      (error instanceof Error ? error.message : String(error))
    );
  }

  async function runBackupFromSlack(
    userId: string,
    env: string | undefined,
    label: string | undefined,
    extra: { url?: string | undefined; approvedBy?: string | null; askedIn?: string } = {},
  ) {
    if (extra.url !== undefined) {
      throw new DbBackupError(
        "usage",
        "--url isn't accepted from Slack.",
        "Configure the environment's URL on the bot's host instead.",
      );
    }
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
    const progress = new SlackProgress(base, update, options.progressIntervalMs);
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
      // A pre-upgrade backup may cover a window (say so now, not at the next tick); then retention.
      guard.afterBackup(result.label);
      if (!ts)
        await tellRequester(
          userId,
          extra.askedIn,
          `The ${envName} backup ${result.id} is verified (stage ${result.stage}).`,
        );
    } catch (error) {
      progress.close();
      const clear = isDbBackupError(error)
        ? error
        : new DbBackupError(
            "internal_error",
            "dbbackup failed unexpectedly.",
            "The bot's log has the details.",
          );
      void audit(state, clear.code === "cancelled" ? "backup-cancelled" : "backup-failed", {
        job: job.id,
        env: envName,
        code: clear.code,
      });
      logger.error({ err: error, env: envName, userId }, "backup from Slack failed");
      await update(backupFailedView(envName, userId, say(clear.message), say(clear.hint))).catch(() => {});
      if (!ts)
        await tellRequester(userId, extra.askedIn, `The ${envName} backup failed: ${say(clear.message)}`);
    } finally {
      live.delete(job.id);
      await jobStore.remove(job.id);
    }
  }

  async function runRestoreTestFromSlack(
    userId: string,
    ref: string,
    env: string | undefined,
  ): Promise<void> {
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
      const e = isDbBackupError(error)
        ? error
        : new DbBackupError(
            "internal_error",
            "The restore test failed unexpectedly.",
            "The bot's log has the details.",
          );
      logger.error({ err: error }, "restore test from Slack failed");
      await show(restoreTestFailedView(what, userId, say(e.message), say(e.hint))).catch(() => {});
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
    const orphans = await jobStore.claimOrphans();
    for (const job of orphans) {
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

  async function cancelJob(userId: string, id: string | undefined): Promise<string> {
    const mine = [...live.values()];
    const target = id ? live.get(id) : mine.length === 1 ? mine[0] : undefined;
    if (!target) {
      if (mine.length === 0) return "Nothing is running.";
      return `Which one? ${mine.map((m) => `\`${m.job.id}\` (${m.job.env})`).join(", ")}: /dbbackup cancel <id>`;
    }
    const may = target.job.requestedBy === userId || (await approvers.members()).has(userId);
    if (!may) return "Only the person who asked for it or an approver can cancel it.";
    target.abort.abort();
    void audit(state, "backup-cancelled", { job: target.job.id, env: target.job.env, by: userId });
    return `Cancelling the ${target.job.env} backup \`${target.job.id}\`: pg_dump is stopped and nothing is kept.`;
  }

  async function status(): Promise<SlackMessage> {
    const { listBackups } = await import("../backup/catalog.js");
    const listing = await listBackups(root, state);
    const lastPerEnv = [...new Map(listing.backups.map((b) => [b.env, b])).values()];
    return statusView({
      running: [...live.values()].map((m) => m.job),
      pending: await approvals.pending(),
      last: lastPerEnv.map((b) => ({ env: b.env, id: b.id, stage: b.stage, finishedAt: b.finishedAt })),
      windows: await new WindowStore(state).open(),
      now: new Date(),
    });
  }

  const approvals = new ApprovalStore(state);
  const approvers = new SlackDirectory(app.client, settings.approvers, logger);
  const requesters = new SlackDirectory(app.client, settings.requesters, logger);

  function startJob(work: Promise<void>): void {
    const job = work.catch((error: unknown) => logger.error({ err: error }, "a Slack job failed"));
    jobs.add(job);
    void job.finally(() => jobs.delete(job));
  }

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

  async function requestApproval(userId: string, env: string, label: string | null, reason: string | null) {
    const approval = await approvals.create({
      env,
      label,
      reason,
      requestedBy: userId,
      ttlMs: settings.approvalTtlMs,
    });
    void audit(state, "approval-requested", { request: approval.id, env, label, by: userId, reason });
    const r = await app.client.chat.postMessage({
      channel: settings.channel,
      ...approvalView(approval, settings.minApprovers),
    });
    if (r.ts) await approvals.setMessage(approval.id, settings.channel, r.ts);
  }

  async function showApproval(approval: Approval): Promise<void> {
    if (!approval.channel || !approval.ts) return;
    await app.client.chat.update({
      channel: approval.channel,
      ts: approval.ts,
      ...approvalView(approval, settings.minApprovers),
    });
  }

  const approvalAction = z.object({ value: z.string().uuid() });
  for (const [actionId, kind] of [
    ["approval_approve", "approve"],
    ["approval_deny", "deny"],
  ] as const) {
    app.action(actionId, async ({ ack, body, action }) => {
      await ack();
      const parsed = approvalAction.safeParse(action);
      // Identity is the clicker from the signed payload; the button carries only the request id.
      const clicker = body.user.id;
      const channel = body.channel?.id ?? settings.channel;
      if (!parsed.success) return;
      let decision: Awaited<ReturnType<typeof approvals.decide>>;
      try {
        decision = await approvals.decide(parsed.data.value, clicker, kind, {
          approvers: await approvers.members(),
          minApprovers: settings.minApprovers,
        });
      } catch (error) {
        // The click is refused, and the clicker hears why: never approved on a state we couldn't read.
        logger.error({ err: error }, "deciding an approval failed");
        const e = isDbBackupError(error) ? error : undefined;
        await app.client.chat
          .postEphemeral({
            channel,
            user: clicker,
            text: `Your click was not recorded: ${e ? say(e.message) : "dbbackup failed unexpectedly (the bot's log has the details)."}`,
          })
          .catch(() => {});
        return;
      }
      void audit(state, decision.outcome === "recorded" ? "approved" : decision.outcome, {
        request: parsed.data.value,
        by: clicker,
        ...(decision.outcome === "refused" ? { reason: decision.reason } : {}),
      });
      if (decision.outcome === "refused") {
        await app.client.chat.postEphemeral({ channel, user: clicker, text: decision.reason });
        return;
      }
      await showApproval(decision.approval);
      if (decision.outcome === "approved") {
        const a = decision.approval;
        startJob(runBackupFromSlack(a.requestedBy, a.env, a.label ?? undefined, { approvedBy: clicker }));
      }
    });
  }

  /** Pending requests past their time lose their buttons (a sweeper runs this; tests call it). */
  async function sweepApprovals(now = new Date()): Promise<number> {
    const expired = await approvals.expire(now);
    for (const a of expired) void audit(state, "expired", { request: a.id, env: a.env, by: a.requestedBy });
    for (const a of expired)
      await showApproval(a).catch((error: unknown) =>
        logger.warn({ err: error }, "expiring an approval message failed"),
      );
    return expired.length;
  }
  let sweeper: NodeJS.Timeout | undefined;
  let recoverer: NodeJS.Timeout | undefined;

  const guard = attachGuardrails({
    app,
    config,
    settings,
    logger,
    ...(options.guardrails ? { guardrails: options.guardrails } : {}),
    ...(options.now ? { now: options.now } : {}),
    startJob,
    whoMayAsk,
    requestApproval,
    runBackup: (user, env, label, askedIn) => runBackupFromSlack(user, env, label, { askedIn }),
    runRestoreTest: (user, env) => runRestoreTestFromSlack(user, "latest", env),
  });
  const scheduler = guard.scheduler;

  let accepting = true;

  app.command("/dbbackup", async ({ command, ack: boltAck, client }) => {
    let acked = false;
    const ack: typeof boltAck = async (response) => {
      acked = true;
      await boltAck(response);
    };
    try {
      if (!accepting) {
        await ack({ response_type: "ephemeral", text: "dbbackup is restarting; ask again in a minute." });
        return;
      }
      let words: string[];
      // Undefined for the Slack-only verbs (status, cancel), which the CLI's parser doesn't know.
      let parsed: ReturnType<typeof parseArgv> | undefined;
      let reason: string | null = null;
      try {
        words = slashWords(command.text ?? "");
        if (words[0] === "keep" && words.length > 2) {
          // `/dbbackup keep <id> before the tenant split`: the words after the id are the reason.
          reason = words.slice(2).join(" ").slice(0, 200);
          words = words.slice(0, 2);
        } else if (words[0] !== undefined && settings.approvalEnvs.includes(words[0]) && words.length > 2) {
          // `/dbbackup prod pre-upgrade before the 15.8 upgrade`: what follows the label is the reason.
          reason = words.slice(2).join(" ").slice(0, 300);
          words = words.slice(0, 2);
        }
        if (words[0] === "status" || words[0] === "cancel") {
          if (words.length > 2)
            throw new DbBackupError("usage", `${words[0]} takes at most one id.`, "Try /dbbackup status.");
        } else {
          parsed = parseArgv(words, envs());
        }
      } catch (error) {
        const e = isDbBackupError(error)
          ? error
          : new DbBackupError("usage", "I couldn't read that command.", "Try /dbbackup help.");
        await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        return;
      }
      const verb = parsed?.command.verb;
      const refusal =
        verb === "help" || verb === "version"
          ? undefined
          : await whoMayAsk(command.user_id, command.channel_id);
      if (refusal) {
        await ack({
          response_type: "ephemeral",
          ...usageErrorView(refusal, "Ask in the ops channel, or ask an admin to add you."),
        });
        return;
      }
      if (!parsed) {
        if (words[0] === "status") await ack({ response_type: "ephemeral", ...(await status()) });
        else await ack({ response_type: "ephemeral", text: await cancelJob(command.user_id, words[1]) });
        return;
      }
      const c = parsed.command;
      if (c.verb === "help" || c.verb === "version") {
        await ack({ response_type: "ephemeral", ...helpView() });
        return;
      }
      if (c.verb === "list") {
        await ack();
        const { run } = await import("../../commands/list.js");
        const result = await run({ config, requestedBy: command.user_id }, c.args);
        await client.chat.postEphemeral({
          channel: command.channel_id,
          user: command.user_id,
          ...listView(result, new Date()),
        });
        return;
      }
      if (c.verb === "backup") {
        const env = c.args.env ?? "staging";
        if (c.args.url !== undefined) {
          await ack({
            response_type: "ephemeral",
            ...usageErrorView(
              "--url isn't accepted from Slack: a URL typed in a channel would carry its password.",
              "Set the environment's URL (DATABASE_URL_<ENV>) on the bot's host, then: /dbbackup <env> [label]",
            ),
          });
          return;
        }
        if (c.args.label !== undefined) {
          try {
            checkLabel(c.args.label);
          } catch (error) {
            if (!isDbBackupError(error)) throw error;
            await ack({ response_type: "ephemeral", ...usageErrorView(say(error.message), say(error.hint)) });
            return;
          }
        }
        await ack(); // first, always: a dump can take minutes, Slack waits 3 seconds
        if (settings.approvalEnvs.includes(env)) {
          await requestApproval(command.user_id, env, c.args.label ?? null, reason);
          return;
        }
        startJob(
          runBackupFromSlack(command.user_id, c.args.env, c.args.label, {
            url: c.args.url,
            askedIn: command.channel_id,
          }),
        );
        return;
      }
      if (c.verb === "upgrade") {
        await guard.upgrade(c.args, command.user_id, ack);
        return;
      }
      if (c.verb === "diff") {
        await guard.diff(c.args, command.user_id, command.channel_id, ack);
        return;
      }
      if (c.verb === "keep") {
        const { runKeep } = await import("../../commands/keep.js");
        try {
          // keep audits itself, the same line from Slack as from the terminal.
          const result = await runKeep(
            { config, requestedBy: command.user_id, via: "slack" },
            { ...c.args, ...(reason ? { reason } : {}) },
          );
          await ack({
            response_type: "in_channel",
            text: `:pushpin: ${result.id} is pinned${result.pin.reason ? `: ${escapeMrkdwn(result.pin.reason)}` : ""}. prune will never delete it.`,
          });
        } catch (error) {
          const e = isDbBackupError(error)
            ? error
            : new DbBackupError("usage", "Couldn't pin that backup.", "Check the id with /dbbackup list.");
          await ack({ response_type: "ephemeral", ...usageErrorView(say(e.message), say(e.hint)) });
        }
        return;
      }
      if (c.verb === "restore-test" && !c.args.keepServer) {
        // From Slack only ids and `latest`: a path would name a folder anywhere on the bot's host.
        if (c.args.ref !== "latest" && !isBackupId(c.args.ref)) {
          await ack({
            response_type: "ephemeral",
            ...usageErrorView(
              `"${c.args.ref.slice(0, 60)}" is not a backup id.`,
              "Use an id from /dbbackup list, or latest: /dbbackup restore-test latest staging",
            ),
          });
          return;
        }
        await ack();
        startJob(runRestoreTestFromSlack(command.user_id, c.args.ref, c.args.env));
        return;
      }
      await ack({
        response_type: "ephemeral",
        ...usageErrorView(
          `/dbbackup ${c.verb}${c.verb === "restore-test" ? " --keep-server" : ""} isn't available from Slack.`,
          `Run it on the bot's host: npx dbbackup ${c.verb} …`,
        ),
      });
    } catch (error) {
      // Every refusal and failure reaches the person who asked: before the ack in its answer, after it privately.
      logger.error({ err: error }, "/dbbackup failed");
      const e = isDbBackupError(error)
        ? error
        : new DbBackupError(
            "internal_error",
            "dbbackup failed unexpectedly.",
            "The bot's log has the details.",
          );
      const view = usageErrorView(say(e.message), say(e.hint));
      if (!acked) await boltAck({ response_type: "ephemeral", ...view });
      else
        await client.chat
          .postEphemeral({ channel: command.channel_id, user: command.user_id, ...view })
          .catch((failure: unknown) => logger.warn({ err: failure }, "could not tell the asker either"));
    }
  });

  app.error(async (error) => {
    logger.error({ err: error }, "Slack listener error");
  });

  return {
    app,
    async start() {
      try {
        await app.init();
      } catch (error) {
        const code =
          (error as { data?: { error?: string } }).data?.error ??
          (error instanceof Error ? error.message : String(error));
        throw new DbBackupError(
          "slack_auth",
          `Slack refused SLACK_BOT_TOKEN (${code}).`,
          "Copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page into SLACK_BOT_TOKEN.",
        );
      }
      await Promise.all([approvers.members(), requesters.members()]);
      state.holdLease("bot");
      await recoverInterrupted();
      if (socketMode) await app.start();
      else await app.start({ port: settings.port, host: settings.host });
      sweeper = setInterval(() => void sweepApprovals().catch(() => {}), options.sweepIntervalMs ?? 30_000);
      sweeper.unref();
      // A bot or CLI that died on this state (here or on another host) is noticed when its lease ends.
      let recovering = false;
      recoverer = setInterval(
        () => {
          if (recovering) return;
          recovering = true;
          void recoverInterrupted()
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
      if (sweeper) clearInterval(sweeper);
      if (recoverer) clearInterval(recoverer);
      await scheduler.stop();
      await app.stop();
    },
    runJob: (name) => scheduler.runNow(name),
    sweepApprovals,
    async shutdown(graceMs: number) {
      accepting = false;
      if (sweeper) clearInterval(sweeper);
      if (recoverer) clearInterval(recoverer);
      const stopping = scheduler.stop();
      const running = [...jobs];
      const all = Promise.allSettled(running);
      const inTime = await Promise.race([
        all.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), graceMs).unref()),
      ]);
      let cancelled = 0;
      if (!inTime) {
        for (const { job, abort } of live.values()) {
          void audit(state, "backup-cancelled", { job: job.id, env: job.env, by: "shutdown" });
          abort.abort();
          cancelled++;
        }
        // pg_dump gets SIGTERM, then SIGKILL after 5 s: this wait is bounded too.
        await Promise.race([all, new Promise((r) => setTimeout(r, 15_000).unref())]);
      }
      await stopping;
      await app.stop();
      return { finished: running.length - cancelled, cancelled };
    },
    running: () => [...jobs],
  };
}
