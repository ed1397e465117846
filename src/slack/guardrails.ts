import type { AckFn, App, RespondArguments } from "@slack/bolt";
import type { Logger } from "pino";
import { z } from "zod/v3";
import type { DiffArgs } from "../../commands/diff.js";
import type { UpgradeArgs } from "../../commands/upgrade.js";
import { isBackupId } from "../backup/ids.js";
import type { Config } from "../config.js";
import { isDbBackupError } from "../errors.js";
import type { GuardrailContext, JobReport } from "../guardrails/context.js";
import { runRetention } from "../guardrails/jobs/retention.js";
import { type GuardrailSettings, loadGuardrailSettings } from "../guardrails/settings.js";
import { createScheduler, type Scheduler } from "../schedule/scheduler.js";
import { audit } from "../state/audit.js";
import { stateFor } from "../state/open.js";
import type { SlackMessage } from "./blocks.js";
import { clearError, onTheBotsHost } from "./failures.js";
import {
  BACKUP_NOW_ACTION,
  DRILL_NOW_ACTION,
  diffView,
  noticeView,
  windowCancelledView,
  windowDeclaredView,
  windowListView,
} from "./guardrail-views.js";
import type { SlackSettings } from "./settings.js";
import { usageErrorView } from "./views.js";

/** What the guardrails need from the bot: how it starts work, and who may ask for it. */
export interface GuardrailDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  guardrails?: GuardrailSettings;
  now?: () => Date;
  startJob(work: Promise<void>): void;
  whoMayAsk(userId: string, channelId: string | undefined): Promise<string | undefined>;
  requestApproval(userId: string, env: string, label: string | null, reason: string | null): Promise<void>;
  runBackup(userId: string, env: string, label: string | undefined, askedIn: string): Promise<void>;
  runRestoreTest(userId: string, env: string): Promise<void>;
}

export interface Guardrails {
  scheduler: Scheduler;
  /** `/dbbackup upgrade …`: declare, list or cancel a window. */
  upgrade(args: UpgradeArgs, userId: string, ack: AckFn<string | RespondArguments>): Promise<void>;
  /** `/dbbackup diff <id> [<id>|live]`, answered privately. */
  diff(
    args: DiffArgs,
    userId: string,
    channelId: string,
    ack: AckFn<string | RespondArguments>,
  ): Promise<void>;
  /** After a verified backup: a pre-upgrade one may cover a window (say so now), then retention. */
  afterBackup(label: string | null): void;
}

/** The scheduled guardrails in the bot: their cron jobs, their buttons, and the window and diff verbs. */
export function attachGuardrails(deps: GuardrailDeps): Guardrails {
  const { app, config, settings, logger, startJob } = deps;
  const state = stateFor(config);
  const guardrails = deps.guardrails ?? loadGuardrailSettings({}, config.environments.keys());
  const context: GuardrailContext = {
    config,
    settings: guardrails,
    now: deps.now ?? (() => new Date()),
    post: async (notice) => {
      await app.client.chat.postMessage({
        channel: settings.channel,
        ...noticeView(notice, { approvalEnvs: settings.approvalEnvs }),
      });
      void audit(state, "guardrail-posted", { notice: notice.kind });
    },
  };
  const report = (r: JobReport) => {
    if (r.notices.length > 0 || r.problems.length > 0)
      logger.info(
        { job: r.job, notices: r.notices.map((n) => n.kind), problems: r.problems },
        "guardrail job ran",
      );
  };
  const scheduler = createScheduler({
    context,
    onReport: report,
    onError: (job, error) => logger.error({ err: error, job }, "a scheduled guardrail failed"),
    log: (level, message) => logger[level]({ cron: message }, "scheduler"),
  });

  // The buttons carry only an env (and the pre-upgrade label); who clicked comes from the signed payload.
  const buttonValue = z.object({
    env: z.string().refine((e) => config.environments.has(e), "not a configured environment"),
    label: z.literal("pre-upgrade").nullable().optional(),
  });
  const parseButton = (value: unknown) => {
    let json: unknown;
    try {
      json = typeof value === "string" && value.length <= 200 ? JSON.parse(value) : undefined;
    } catch {
      json = undefined; // not JSON: refused below like any other bad value
    }
    return buttonValue.safeParse(json);
  };
  const clickedBy = async (body: { user: { id: string }; channel?: { id: string } }, value: unknown) => {
    const clicker = body.user.id;
    const channel = body.channel?.id ?? settings.channel;
    const parsed = parseButton(value);
    if (!parsed.success) return undefined;
    const refusal = await deps.whoMayAsk(clicker, undefined);
    if (refusal) {
      await app.client.chat.postEphemeral({ channel, user: clicker, text: refusal });
      return undefined;
    }
    return { clicker, channel, ...parsed.data };
  };
  app.action(BACKUP_NOW_ACTION, async ({ ack, body, action }) => {
    await ack();
    const click = await clickedBy(body, (action as { value?: unknown }).value);
    if (!click) return;
    const label = click.label ?? null;
    void audit(state, "request", {
      verb: "backup",
      env: click.env,
      label,
      by: click.clicker,
      from: "guardrail button",
    });
    if (settings.approvalEnvs.includes(click.env)) {
      await deps.requestApproval(click.clicker, click.env, label, "asked for from a dbbackup reminder");
      return;
    }
    startJob(deps.runBackup(click.clicker, click.env, label ?? undefined, click.channel));
  });
  app.action(DRILL_NOW_ACTION, async ({ ack, body, action }) => {
    await ack();
    const click = await clickedBy(body, (action as { value?: unknown }).value);
    if (click) startJob(deps.runRestoreTest(click.clicker, click.env));
  });

  return {
    scheduler,
    async upgrade(args, userId, ack) {
      try {
        const { run } = await import("../../commands/upgrade.js");
        const result = await run({ config, requestedBy: userId, via: "slack" }, args, {
          defaultLengthMs: guardrails.windowLengthMs,
          now: context.now(),
        });
        if (result.action === "list") {
          await ack({ response_type: "ephemeral", ...windowListView(result.windows, context.now()) });
          return;
        }
        await ack({
          response_type: "in_channel",
          ...(result.action === "declare"
            ? windowDeclaredView(result.window, guardrails.nagHours)
            : windowCancelledView(result.window)),
        });
        // A window declared less than 48 h ahead gets its first reminder now, not at the next tick.
        if (result.action === "declare") startJob(scheduler.runNow("windows").then(report));
      } catch (error) {
        const e = clearError(error, "Couldn't record that window.");
        if (!isDbBackupError(error)) logger.error({ err: error }, "upgrade from Slack failed");
        await ack({
          response_type: "ephemeral",
          ...usageErrorView(
            onTheBotsHost(e.message, config.backupsDir),
            onTheBotsHost(e.hint, config.backupsDir),
          ),
        });
      }
    },
    async diff(args, userId, channelId, ack) {
      // From Slack only ids (and live): a path would name a folder anywhere on the bot's host.
      const bad = [args.from, args.to ?? "live"].find((r) => r !== "live" && !isBackupId(r));
      if (bad !== undefined || args.from === "live") {
        await ack({
          response_type: "ephemeral",
          ...usageErrorView(
            `"${(bad ?? "live").slice(0, 60)}" is not a backup id${args.from === "live" ? " (live goes second)" : ""}.`,
            "Use ids from /dbbackup list: /dbbackup diff <id> [<id>|live]",
          ),
        });
        return;
      }
      await ack(); // a diff against live connects to the database: maybe seconds
      startJob(
        (async () => {
          let view: SlackMessage;
          try {
            const { run } = await import("../../commands/diff.js");
            view = diffView(await run({ config, requestedBy: userId }, args));
          } catch (error) {
            const e = clearError(error, "The diff failed unexpectedly.");
            if (!isDbBackupError(error)) logger.error({ err: error }, "diff from Slack failed");
            view = usageErrorView(
              onTheBotsHost(e.message, config.backupsDir),
              onTheBotsHost(e.hint, config.backupsDir),
            );
          }
          await app.client.chat.postEphemeral({ channel: channelId, user: userId, ...view });
        })(),
      );
    },
    afterBackup(label) {
      if (label === "pre-upgrade") startJob(scheduler.runNow("windows").then(report));
      startJob(scheduler.runNow("retention", (c) => runRetention(c, "after-backup")).then(report));
    },
  };
}
