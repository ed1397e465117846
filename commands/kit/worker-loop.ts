import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isBackupId } from "../../src/backup/ids.js";
import { newestFiled } from "../../src/backup/shared-catalog.js";
import { DbBackupError, isDbBackupError } from "../../src/errors.js";
import { JobEventWriter } from "../../src/state/job-events.js";
import { stateFor } from "../../src/state/open.js";
import { type JobFailure, type QueuedJob, workQueueOf } from "../../src/state/work-queue.js";
import { runAudited } from "./audited-run.js";
import type { CommandContext } from "./context.js";
import { loadVerbs } from "./registry.js";
import { QUEUED_VERBS } from "./worker-run.js";

/** How often an idle worker looks for work when nothing woke it (the enqueue's notification was missed). */
const POLL_MS = 500;

export interface WorkerOptions {
  /** Only jobs of these envs (all when absent). */
  envs: readonly string[] | null;
  concurrency: number;
  /** Stops when aborted (Ctrl-C, SIGTERM): a running job is cancelled and recorded as such. */
  signal: AbortSignal;
  onNote?: (line: string) => void;
  /** Stop once this many jobs were run (tests and benchmarks; unbounded when absent). */
  maxJobs?: number;
  /** The idle poll's interval (tests; POLL_MS when absent). */
  pollMs?: number;
}

export interface WorkerSummary {
  ok: true;
  ran: number;
  failed: number;
}

/**
 * What the queued verbs load when they first run (the pipelines, execa), loaded before the worker
 * says it is ready: its first job doesn't wait ~0.15 s for modules while others wait on it.
 */
async function loadJobCode(): Promise<void> {
  await Promise.all([
    import("../../src/backup/pipeline.js"),
    import("../../src/restore/restore-test.js"),
    import("execa"),
  ]);
}

/** Takes jobs from the state database's queue and runs them, `concurrency` at a time, until stopped. */
export async function runWorker(ctx: CommandContext, options: WorkerOptions): Promise<WorkerSummary> {
  const state = stateFor(ctx.config);
  const queue = workQueueOf(state);
  state.holdLease("worker");
  const [registry] = await Promise.all([loadVerbs(), loadJobCode()]);
  const summary: WorkerSummary = { ok: true, ran: 0, failed: 0 };
  await queue.recoverFromDeadWorkers();
  options.onNote?.(
    `worker ${state.instance().id} ready: taking ${options.envs?.join(", ") ?? "every env"}'s jobs from ${state.location}`,
  );
  let taken = 0;
  // An idle lane sleeps until a job is queued (or the poll interval passes, should that news be lost).
  const wakeups = queue.wakeups(options.envs);
  wakeups.start();
  const lane = async () => {
    while (!options.signal.aborted && (options.maxJobs === undefined || taken < options.maxJobs)) {
      const since = wakeups.seen;
      await queue.recoverFromDeadWorkers().catch(() => []);
      const me = state.instance();
      const job = await queue.claim({ id: me.id, host: me.host }, options.envs).catch((error: unknown) => {
        options.onNote?.(`can't take work: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (!job) {
        await wakeups.wait(options.pollMs ?? POLL_MS, since, options.signal);
        continue;
      }
      taken++;
      options.onNote?.(`running ${job.verb} ${job.env ?? ""} (${job.id}) for ${job.requested_by}`);
      const failure = await runOne(ctx, job, registry, queue, me.id, options.signal);
      summary.ran++;
      if (failure) summary.failed++;
      options.onNote?.(`${job.id}: ${failure ? `failed: ${failure.message}` : "done"}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, lane));
  } finally {
    await wakeups.close();
  }
  return summary;
}

/**
 * A restore test asked of a worker: `latest` is the newest verified backup of the env on any host
 * (the shared catalog says which); one another host took is tested from the bucket's copy when
 * off-site copies are set up (that host may be gone), as `restore-test --from offsite` would.
 */
async function restoreTestTarget(ctx: CommandContext, verb: string, args: unknown): Promise<unknown> {
  if (verb !== "restore-test") return args;
  const test = args as { ref?: unknown; from?: unknown; env?: unknown };
  if (test.from !== "local" || typeof test.ref !== "string") return args;
  const newest =
    test.ref === "latest" && typeof test.env === "string"
      ? await newestFiled(stateFor(ctx.config), test.env)
      : undefined;
  const ref = newest?.id ?? test.ref;
  if (!isBackupId(ref) || existsSync(path.join(ctx.config.backupsDir, ref))) return { ...test, ref };
  if (ctx.config.offsite) return { ...test, ref, from: "offsite" };
  throw new DbBackupError(
    "not_found",
    `${ref} is on ${newest?.host ?? "another host"}, not on this worker (${os.hostname()}), and there are no off-site copies to test instead.`,
    "Set up off-site copies (DBBACKUP_S3_URL) so any worker can test any backup, or run the restore test on that host.",
  );
}

async function runOne(
  ctx: CommandContext,
  job: QueuedJob,
  registry: Awaited<ReturnType<typeof loadVerbs>>,
  queue: ReturnType<typeof workQueueOf>,
  worker: string,
  stopping: AbortSignal,
): Promise<JobFailure | undefined> {
  const abort = new AbortController();
  const onStop = () => abort.abort();
  stopping.addEventListener("abort", onStop);
  // Cancel reaches the worker through the job's row: looked at every second while it runs.
  const watch = setInterval(() => {
    void queue.get(job.id).then((row) => {
      if (row?.cancel_requested) abort.abort();
    });
  }, 1_000);
  watch.unref();
  // Events go to the state database in order (those sent during an insert, in the next one).
  const events = new JobEventWriter(queue, job.id);
  const send = (event: unknown) => events.send(event);
  try {
    const verb = registry.named(job.verb);
    if (!verb || !QUEUED_VERBS.has(job.verb))
      throw new DbBackupError(
        "usage",
        `A worker doesn't run "${job.verb}".`,
        "Only backups and restore tests are queued.",
      );
    const run: CommandContext = {
      ...ctx,
      requestedBy: job.requested_by,
      via: "slack",
      signal: abort.signal,
      jobId: job.id,
      approvedBy: job.approved_by,
      onEvent: send,
      onRestoreEvent: send,
    };
    const args = await restoreTestTarget(ctx, job.verb, verb.args.parse(job.args));
    const result = await runAudited(verb, run, args, job.approved_by);
    await events.flushed();
    await queue.finish(job.id, worker, result);
    return undefined;
  } catch (error) {
    const failure: JobFailure = isDbBackupError(error)
      ? { code: error.code, message: error.message, hint: error.hint }
      : {
          code: "internal_error",
          message: error instanceof Error ? error.message : String(error),
          hint: "See the worker's log.",
        };
    await events.flushed();
    await queue.fail(job.id, worker, failure).catch(() => {});
    return failure;
  } finally {
    clearInterval(watch);
    stopping.removeEventListener("abort", onStop);
  }
}
