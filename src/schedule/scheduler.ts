import { randomBytes } from "node:crypto";
import cron, { type ScheduledTask } from "node-cron";
import { describeHolder } from "../backup/env-lock.js";
import { DbBackupError } from "../errors.js";
import { tryLock } from "../state/locks.js";
import { stateFor } from "../state/open.js";
import type { GuardrailContext, JobReport } from "./context.js";
import { JOB_NAMES, type JobName } from "./job-names.js";
import { runDrills } from "./jobs/drills.js";
import { runRetention } from "./jobs/retention.js";
import { runSupabase } from "./jobs/supabase.js";
import { runVersions } from "./jobs/versions.js";
import { runWindows } from "./jobs/windows.js";

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

export interface SchedulerOptions {
  context: GuardrailContext;
  /** Told about each finished run and each failure (the bot logs them). */
  onReport?: (report: JobReport) => void;
  onError?: (job: JobName, error: unknown) => void;
  /** Where node-cron's own warnings go (a missed tick), instead of the console. */
  log?: (level: "info" | "warn" | "error" | "debug", message: string) => void;
}

export interface Scheduler {
  /** Starts the cron tasks of every job whose schedule isn't "off". */
  start(): void;
  stop(): Promise<void>;
  /** Runs a job at once (a button, a finished backup); a run already under way is reported as such. */
  runNow(name: JobName, run?: (ctx: GuardrailContext) => Promise<JobReport>): Promise<JobReport>;
  /** The next time each scheduled job runs. */
  nextRuns(): Partial<Record<JobName, Date | null>>;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { context } = options;
  const tasks = new Map<JobName, ScheduledTask>();
  const busy = new Map<JobName, Promise<JobReport>>();

  function runNow(name: JobName, run?: (ctx: GuardrailContext) => Promise<JobReport>): Promise<JobReport> {
    const current = busy.get(name);
    if (current) return current;
    const started = runJobExclusively(name, context, run).finally(() => busy.delete(name));
    busy.set(name, started);
    return started;
  }

  return {
    start() {
      for (const name of JOB_NAMES) {
        const expression = context.settings.schedules[name];
        if (expression === "off" || (name === "supabase" && !context.settings.supabase)) continue;
        const task = cron.schedule(
          expression,
          async () => {
            try {
              options.onReport?.(await runNow(name));
            } catch (error) {
              options.onError?.(name, error);
            }
          },
          {
            name: `dbbackup-${name}`,
            timezone: context.settings.timeZone,
            noOverlap: true,
            logger: {
              info: (m) => options.log?.("info", m),
              warn: (m) => options.log?.("warn", m),
              error: (m) => options.log?.("error", String(m)),
              debug: (m) => options.log?.("debug", String(m)),
            },
          },
        );
        tasks.set(name, task);
      }
    },
    async stop() {
      for (const task of tasks.values()) await task.destroy();
      tasks.clear();
      await Promise.allSettled([...busy.values()]);
    },
    runNow,
    nextRuns() {
      return Object.fromEntries([...tasks].map(([name, task]) => [name, task.getNextRun()]));
    },
  };
}
