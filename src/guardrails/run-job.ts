import { randomBytes } from "node:crypto";
import { describeHolder } from "../backup/env-lock.js";
import { DbBackupError } from "../errors.js";
import type { GuardrailContext, JobReport } from "../guardrails/context.js";
import type { JobName } from "../guardrails/job-names.js";
import { runDrills } from "../guardrails/jobs/drills.js";
import { runRetention } from "../guardrails/jobs/retention.js";
import { runSupabase } from "../guardrails/jobs/supabase.js";
import { runVersions } from "../guardrails/jobs/versions.js";
import { runWindows } from "../guardrails/jobs/windows.js";
import { tryLock } from "../state/locks.js";
import { stateFor } from "../state/open.js";

export const JOBS: Record<JobName, (ctx: GuardrailContext) => Promise<JobReport>> = {
  windows: runWindows,
  versions: runVersions,
  drills: runDrills,
  retention: (ctx) => runRetention(ctx),
  supabase: runSupabase,
};

/**
 * Runs one job now, never alongside itself: not in this process (the bot's cron and a button), and
 * not across processes (the bot and `npx dbbackup jobs run`), through a lock `job:<name>` held by
 * this instance. A lock of a dead instance is taken over.
 */
export async function runJobExclusively(
  name: JobName,
  ctx: GuardrailContext,
  run: (ctx: GuardrailContext) => Promise<JobReport> = JOBS[name],
): Promise<JobReport> {
  const state = stateFor(ctx.config);
  const attempt = await tryLock(state, {
    name: `job:${name}`,
    jobId: randomBytes(4).toString("hex"),
    requestedBy: "dbbackup",
    what: `${name} job`,
  });
  if (!("held" in attempt)) {
    throw new DbBackupError(
      "job_running",
      `The ${name} job is already running (${describeHolder(attempt.holder, attempt.liveness)}; since ${attempt.holder.startedAt.slice(11, 19)} UTC).`,
      "It will be done in a moment; run it again after that if you still need to.",
    );
  }
  try {
    return await run(ctx);
  } finally {
    await attempt.held.release();
  }
}
