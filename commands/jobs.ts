import type { GuardrailContext, JobReport } from "../src/guardrails/context.js";
import type { JobName } from "../src/guardrails/job-names.js";
import type { Notice } from "../src/guardrails/notices.js";
import { runJobExclusively } from "../src/guardrails/run-job.js";
import type { GuardrailSettings } from "../src/guardrails/settings.js";
import type { CommandContext } from "./context.js";

export interface JobsArgs {
  name: JobName;
}

export interface JobsOptions {
  settings: GuardrailSettings;
  /** Where notices go: Slack when the bot's token and channel are set, and the terminal always. */
  post(notice: Notice): Promise<void>;
  now?: () => Date;
}

/** `jobs run NAME`: one scheduled guardrail, now, exactly as the bot's scheduler runs it. */
export async function run(
  ctx: CommandContext,
  args: JobsArgs,
  options: JobsOptions,
): Promise<JobReport & { ok: true }> {
  const guard: GuardrailContext = {
    config: ctx.config,
    settings: options.settings,
    now: options.now ?? (() => new Date()),
    post: options.post,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  return { ok: true, ...(await runJobExclusively(args.name, guard)) };
}
