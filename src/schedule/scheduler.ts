import cron, { type ScheduledTask } from "node-cron";
import type { GuardrailContext, JobReport } from "../guardrails/context.js";
import { JOB_NAMES, type JobName } from "../guardrails/job-names.js";
import { runJobExclusively } from "../guardrails/run-job.js";
import { stateFor } from "../state/open.js";

/** How long a tick's claim is remembered: far longer than any clock skew or missed tick. */
const TICK_CLAIM_MS = 24 * 3600_000;

export interface SchedulerOptions {
  context: GuardrailContext;
  /** Told about each finished run and each failure (the bot logs them). */
  onReport?: (report: JobReport) => void;
  onError?: (job: JobName, error: unknown) => void;
  /** Where node-cron's own warnings go (a missed tick), instead of the console. */
  log?: (level: "info" | "warn" | "error" | "debug", message: string) => void;
  /**
   * Claims one occurrence of a job ("windows@2026-11-29T10:00:00.000Z"); true for the one process
   * that runs it. Default: a claim in the state, so replicas sharing it run each tick once.
   */
  claimTick?: (occurrence: string) => Promise<boolean>;
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
  const claimTick =
    options.claimTick ?? ((o: string) => stateFor(context.config).claimOnce(`tick:${o}`, TICK_CLAIM_MS));

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
          async (tick) => {
            try {
              // The occurrence, as scheduled (not when this host got to it): the same on every replica.
              const at = new Date(Math.floor(tick.date.getTime() / 1000) * 1000).toISOString();
              if (!(await claimTick(`${name}@${at}`))) return;
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
