import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { z } from "zod/v3";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { BotHooks } from "../../commands/kit/verb.js";
import {
  BACKUP_NOW_ACTION,
  DRILL_NOW_ACTION,
  noticeView,
} from "../../commands/views/slack/guardrail-views.js";
import type { Config } from "../config.js";
import type { GuardrailContext, JobReport } from "../guardrails/context.js";
import { runRetention } from "../guardrails/jobs/retention.js";
import { type GuardrailSettings, loadGuardrailSettings } from "../guardrails/settings.js";
import { createScheduler, type Scheduler } from "../schedule/scheduler.js";
import { audit } from "../state/audit.js";
import { stateFor } from "../state/open.js";

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
  /** The guardrails' settings and clock, as the verbs get them from the bot. */
  settings: GuardrailSettings;
  now(): Date;
  /** What verbs may ask of the bot: a guardrail job now (a new window's reminder, retention after a backup). */
  hooks: BotHooks;
}

/** The scheduled guardrails in the bot: their cron jobs and their buttons. */
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
    settings: guardrails,
    now: context.now,
    hooks: {
      runGuardrailJob(name, trigger) {
        const run =
          name === "retention" && trigger ? (c: GuardrailContext) => runRetention(c, trigger) : undefined;
        startJob(scheduler.runNow(name, run).then(report));
      },
    },
  };
}
