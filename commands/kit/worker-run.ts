import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { BackupEvent } from "../../src/backup/events.js";
import { DbBackupError, ERROR_CODES, type ErrorCode } from "../../src/errors.js";
import type { RestoreEvent } from "../../src/restore/restore-test.js";
import { stateFor } from "../../src/state/open.js";
import { workQueueOf } from "../../src/state/work-queue.js";
import type { CommandContext } from "./context.js";
import type { AnyVerb, SlackJobViews } from "./verb.js";

/** The verbs a worker runs for the bot: the long ones, that need to be near the databases. */
export const QUEUED_VERBS: ReadonlySet<string> = new Set(["backup", "restore-test"]);

const FOLLOW_MS = 250;

/** The abort reason of a bot that stalled past its lease: another bot follows its worker jobs now. */
export const LEASE_LOST = "lease-lost";
/** A queued job is followed at most this long (a day of waiting and running): every loop ends. */
const FOLLOW_AT_MOST_MS = 24 * 3600_000;

/**
 * Runs `verb` on a dump worker instead of here: queued in the state database, its events passed on
 * as they come (the bot's message shows them), a cancel passed to the worker, and its end returned
 * or thrown as if it had run here. The worker writes the audit lines.
 */
export async function runOnWorker(
  verb: AnyVerb,
  ctx: CommandContext,
  args: unknown,
  approvedBy: string | null,
): Promise<unknown> {
  const views = verb.slack?.job as SlackJobViews<unknown, unknown> | undefined;
  const queue = workQueueOf(stateFor(ctx.config));
  const id = ctx.jobId ?? randomUUID().slice(0, 8);
  await queue.enqueue({
    id,
    verb: verb.name,
    env: views?.env(args) ?? null,
    args,
    requestedBy: ctx.requestedBy,
    approvedBy,
    maxAttempts: ctx.config.workerAttempts,
  });
  ctx.onNote?.(`queued for a worker as ${id}`);
  return followWorkerJob(id, ctx);
}

/**
 * A queued job followed to its end: its events passed on as they come, a cancel passed to the
 * worker, its result returned or its failure thrown. Any bot can follow any job: a replica takes
 * over following one whose bot died.
 */
export async function followWorkerJob(id: string, ctx: CommandContext): Promise<unknown> {
  const queue = workQueueOf(stateFor(ctx.config));
  let after = 0;
  let cancelSent = false;
  const until = Date.now() + FOLLOW_AT_MOST_MS;
  while (Date.now() < until) {
    const read = await queue.eventsAfter(id, after);
    after = read.last;
    for (const event of read.events) {
      ctx.onEvent?.(event as BackupEvent);
      ctx.onRestoreEvent?.(event as RestoreEvent);
    }
    if (ctx.signal?.aborted && ctx.signal.reason === LEASE_LOST)
      throw new DbBackupError(
        "lease_lost",
        `This bot stalled past its lease while following job ${id}; another bot follows it now, and the worker goes on with it.`,
        "Nothing to do here: the bot that took over finishes the job's message.",
      );
    if (ctx.signal?.aborted && !cancelSent) {
      await queue.requestCancel(id);
      cancelSent = true;
    }
    const row = await queue.get(id);
    if (row?.status === "done") return row.result;
    if (row?.status === "failed" && row.error) {
      const code = (row.error.code in ERROR_CODES ? row.error.code : "internal_error") as ErrorCode;
      throw new DbBackupError(code, row.error.message, row.error.hint);
    }
    await sleep(FOLLOW_MS);
  }
  throw new DbBackupError(
    "job_running",
    `Job ${id} was still ${cancelSent ? "being cancelled" : "queued or running"} on a worker after a day.`,
    "Look at the workers (dbbackup worker) and the state database's dbbackup_queue.",
  );
}
