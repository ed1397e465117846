import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { BotHooks } from "../../commands/kit/verb.js";
import { noticeView } from "../../commands/views/slack/guardrail-views.js";
import type { Config } from "../config.js";
import type { GuardrailContext, JobReport } from "../guardrails/context.js";
import { runRetention } from "../guardrails/jobs/retention.js";
import { type GuardrailSettings, loadGuardrailSettings } from "../guardrails/settings.js";
import { createScheduler, type Scheduler } from "../schedule/scheduler.js";
import { audit } from "../state/audit.js";
import { stateFor } from "../state/open.js";

/** What the guardrails need from the bot: where notices go, and how it starts work. */
export interface GuardrailDeps {
  app: App;
  config: Config;
  settings: SlackSettings;
  logger: Logger;
  guardrails?: GuardrailSettings;
  now?: () => Date;
  startJob(work: Promise<void>): void;
}

export interface Guardrails {
  scheduler: Scheduler;
  /** The guardrails' settings and clock, as the verbs get them from the bot. */
  settings: GuardrailSettings;
  now(): Date;
  /** What verbs may ask of the bot: a guardrail job now (a new window's reminder, retention after a backup). */
  hooks: BotHooks;
}

/** The scheduled guardrails in the bot: their cron jobs, posting their notices to the channel. */
export function createGuardrails(deps: GuardrailDeps): Guardrails {
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
