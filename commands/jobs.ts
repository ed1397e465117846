import { z } from "zod/v3";
import { readSettings } from "../src/config.js";
import { DbBackupError } from "../src/errors.js";
import type { GuardrailContext, JobReport } from "../src/guardrails/context.js";
import { isJobName, JOB_NAMES } from "../src/guardrails/job-names.js";
import type { GuardrailSettings } from "../src/guardrails/settings.js";
import type { CommandContext } from "./kit/context.js";
import { guardrailSettings } from "./kit/guardrail-settings.js";
import { defineVerb } from "./kit/verb.js";
import { shown, usage } from "./kit/words.js";
import { renderJobList, renderJobReport } from "./views/terminal/render-guardrails.js";

const jobsArgs = z.object({ name: z.enum(JOB_NAMES) }).nullable();
type JobsArgs = z.infer<typeof jobsArgs>;

export type JobsResult =
  | ({ ok: true; action: "list" } & Omit<GuardrailSettings, "supabase"> & { supabase: boolean })
  | (JobReport & { ok: true; action: "run"; posted: string });

/**
 * `jobs list`, or `jobs run NAME`: one scheduled guardrail, now, exactly as the bot's scheduler runs
 * it. Its notices go to the asker as they come, and to DBBACKUP_CHANNEL when the bot's settings are
 * here; one Slack can't take stops the job, so the next run posts what is still unsaid.
 */
async function run(ctx: CommandContext, args: JobsArgs): Promise<JobsResult> {
  const env = readSettings();
  const settings = await guardrailSettings(ctx, env);
  if (args === null) return { ok: true, action: "list", ...settings, supabase: settings.supabase !== null };
  const [{ runJobExclusively }, { loadSlackPostingSettings }] = await Promise.all([
    import("../src/guardrails/run-job.js"),
    import("./kit/slack-settings.js"),
  ]);
  const slack = loadSlackPostingSettings(env);
  const toSlack = slack ? (await import("./kit/slack-notices.js")).slackNoticePoster(slack) : undefined;
  const guard: GuardrailContext = {
    config: ctx.config,
    settings,
    now: ctx.now ?? (() => new Date()),
    post: async (notice) => {
      // Shown first: whatever Slack says, the person who asked has seen it.
      ctx.onNotice?.(notice);
      if (!toSlack || !slack) return;
      try {
        await toSlack(notice);
      } catch (error) {
        const code = (error as { data?: { error?: string } }).data?.error ?? String(error);
        throw new DbBackupError(
          "slack_post_failed",
          `Couldn't post to ${slack.channel} (${code}); ${ctx.json ? "the notice was" : "the notice above was"} not posted, and the job stopped there.`,
          "Invite the bot to the channel (/invite @dbbackup) or check SLACK_BOT_TOKEN; the next run posts what is still unsaid.",
        );
      }
    },
    // Printed only, not posted: nothing is recorded as said, so the bot still posts it.
    delivers: slack !== undefined,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  const report = await runJobExclusively(args.name, guard);
  const posted = slack
    ? `posted to ${slack.channel}`
    : "printed only: SLACK_BOT_TOKEN or DBBACKUP_CHANNEL is not set";
  return { ok: true, action: "run", posted, ...report };
}

export const verb = defineVerb({
  name: "jobs",
  order: 90,
  writes: true,
  summary: "The bot's scheduled guardrails; run one now (posts to Slack when the bot's settings are set).",
  usage: { terminal: `dbbackup jobs list | jobs run <${JOB_NAMES.join("|")}>` },
  args: jobsArgs,
  fromWords({ positionals }) {
    const [action, name, ...extra] = positionals;
    if (action === "list" && name === undefined) return null;
    if (action !== "run" || !name || extra.length > 0 || !isJobName(name))
      throw usage(
        `jobs takes list, or run and a job name${name && !isJobName(name) ? ` (${shown(name)} is not one)` : ""}: ${JOB_NAMES.join(", ")}.`,
        "Example: dbbackup jobs run windows",
      );
    return { name };
  },
  run,
  terminal: {
    render(r, style) {
      if (r.action === "list") return renderJobList(r, style);
      return renderJobReport(r, style, r.posted);
    },
    exitCode: (r) => (r.action === "run" && r.problems.length > 0 ? 1 : 0),
  },
});
