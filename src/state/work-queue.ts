import { z } from "zod/v3";
import { DbBackupError } from "../errors.js";
import { PgStateStore } from "./pg-store.js";
import { QUEUE_CHANNEL, QueueWakeups, WAKEUPS_APPLICATION } from "./queue-wakeups.js";
import type { StateStore } from "./store.js";

/**
 * Work for dump workers, in the state database: a row per job, taken by exactly one worker with
 * `FOR UPDATE SKIP LOCKED`; its events appended for the bot that waits on it; cancel a flag the
 * worker polls. Our own table rather than pg-boss: pg-boss 12 needs Node ≥ 22.12 and CI runs 20,
 * and the rest (leases, liveness) is the state layer's already.
 */

export const queuedJobSchema = z.object({
  id: z.string(),
  verb: z.string(),
  env: z.string().nullable(),
  args: z.unknown(),
  requested_by: z.string(),
  approved_by: z.string().nullable(),
  status: z.enum(["queued", "running", "done", "failed"]),
  worker: z.string().nullable(),
  worker_host: z.string().nullable(),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  cancel_requested: z.boolean(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string() }).nullable(),
});
export type QueuedJob = z.infer<typeof queuedJobSchema>;

export interface JobToQueue {
  id: string;
  verb: string;
  env: string | null;
  args: unknown;
  requestedBy: string;
  approvedBy: string | null;
  /** 1: a job whose worker died is failed; 2: it is run once more by another worker. */
  maxAttempts: number;
}

export type JobFailure = { code: string; message: string; hint: string };

/** A statement's parameters are at most 65535: a long run of events is written a thousand at a time. */
const EVENTS_PER_INSERT = 1_000;

const COLUMNS =
  "id, verb, env, args, requested_by, approved_by, status, worker, worker_host, attempts, max_attempts, cancel_requested, result, error";

/** The queue of the state database `store`; workers need DBBACKUP_STATE_URL. */
export function workQueueOf(store: StateStore): WorkQueue {
  if (!(store instanceof PgStateStore))
    throw new DbBackupError(
      "config_invalid",
      "Workers take their jobs from the state database, and DBBACKUP_STATE_URL is not set.",
      "Set DBBACKUP_STATE_URL (the same on the bot and every worker), or unset DBBACKUP_RUN_ON.",
    );
  return new WorkQueue(store);
}

export class WorkQueue {
  constructor(private readonly store: PgStateStore) {}

  /** Queued, and idle workers told at once: the notification goes when the insert commits (one statement). */
  async enqueue(job: JobToQueue): Promise<void> {
    await this.store.sql(
      `with queued as (
         insert into dbbackup_queue (id, verb, env, args, requested_by, approved_by, max_attempts)
         values ($1, $2, $3, $4, $5, $6, $7) returning env)
       select pg_notify('${QUEUE_CHANNEL}', json_build_object('env', env)::text) from queued`,
      [
        job.id,
        job.verb,
        job.env,
        JSON.stringify(job.args ?? null),
        job.requestedBy,
        job.approvedBy,
        job.maxAttempts,
      ],
    );
  }

  /** The oldest waiting job (of `envs`, when given), now this worker's; undefined when none waits. */
  async claim(
    worker: { id: string; host: string },
    envs: readonly string[] | null,
  ): Promise<QueuedJob | undefined> {
    const r = await this.store.sql(
      `update dbbackup_queue set status = 'running', worker = $1, worker_host = $2, attempts = attempts + 1,
              started_at = now()
        where id = (select q.id from dbbackup_queue q
                     where q.status = 'queued' and ($3::text[] is null or q.env = any($3))
                       -- one env's jobs one after another: its backups share a lock
                       and not exists (select 1 from dbbackup_queue r where r.status = 'running' and r.env = q.env)
                     order by q.created_at for update skip locked limit 1)
        returning ${COLUMNS}`,
      [worker.id, worker.host, envs],
    );
    return r.rows[0] ? queuedJobSchema.parse(r.rows[0]) : undefined;
  }

  async get(id: string): Promise<QueuedJob | undefined> {
    const r = await this.store.sql(`select ${COLUMNS} from dbbackup_queue where id = $1`, [id]);
    return r.rows[0] ? queuedJobSchema.parse(r.rows[0]) : undefined;
  }

  /** Done, with what the verb returned; only by the worker that runs it. */
  async finish(id: string, worker: string, result: unknown): Promise<void> {
    await this.store.sql(
      `update dbbackup_queue set status = 'done', result = $3, finished_at = now()
        where id = $1 and worker = $2 and status = 'running'`,
      [id, worker, JSON.stringify(result ?? null)],
    );
  }

  async fail(id: string, worker: string, failure: JobFailure): Promise<void> {
    await this.store.sql(
      `update dbbackup_queue set status = 'failed', error = $3, finished_at = now()
        where id = $1 and worker = $2 and status = 'running'`,
      [id, worker, JSON.stringify(failure)],
    );
  }

  async requestCancel(id: string): Promise<void> {
    await this.store.sql("update dbbackup_queue set cancel_requested = true where id = $1", [id]);
  }

  /** Events of job `id`, in their order, a thousand an insert: ids are taken row by row as VALUES lists them. */
  async addEvents(id: string, events: readonly unknown[]): Promise<void> {
    for (let from = 0; from < events.length; from += EVENTS_PER_INSERT) {
      const some = events.slice(from, from + EVENTS_PER_INSERT);
      await this.store.sql(
        `insert into dbbackup_job_events (job_id, event) values ${some.map((_, i) => `($1, $${i + 2})`).join(", ")}`,
        [id, ...some.map((event) => JSON.stringify(event))],
      );
    }
  }

  /** Wakes this process's idle workers when a job of `envs` (any, when null) is queued; start it, close it. */
  wakeups(envs: readonly string[] | null): QueueWakeups {
    return new QueueWakeups(() => this.store.ownClient(WAKEUPS_APPLICATION), envs);
  }

  /** Events of job `id` after event `after`, oldest first, with the id to read on from. */
  async eventsAfter(id: string, after: number): Promise<{ events: unknown[]; last: number }> {
    const r = await this.store.sql<{ id: string; event: unknown }>(
      "select id, event from dbbackup_job_events where job_id = $1 and id > $2 order by id limit 500",
      [id, after],
    );
    return { events: r.rows.map((row) => row.event), last: Number(r.rows.at(-1)?.id ?? after) };
  }

  /**
   * Jobs whose worker is dead (its lease over): run again by another worker while attempts remain,
   * otherwise failed saying so. Returns the jobs changed.
   */
  async recoverFromDeadWorkers(): Promise<QueuedJob[]> {
    const running = await this.store.sql(`select ${COLUMNS} from dbbackup_queue where status = 'running'`);
    const changed: QueuedJob[] = [];
    for (const row of running.rows) {
      const job = queuedJobSchema.parse(row);
      if (!job.worker || (await this.store.liveness(job.worker)).state !== "dead") continue;
      const again = job.attempts < job.max_attempts;
      const failure: JobFailure = {
        code: "worker_died",
        message: `The worker running it stopped (on ${job.worker_host ?? "another host"}, attempt ${job.attempts} of ${job.max_attempts}).`,
        hint: "Ask again; the worker's host keeps no half backup (its next start removes the partial folder).",
      };
      const r = await this.store.sql(
        again
          ? "update dbbackup_queue set status = 'queued', worker = null where id = $1 and worker = $2 and status = 'running' returning id"
          : "update dbbackup_queue set status = 'failed', error = $3, finished_at = now() where id = $1 and worker = $2 and status = 'running' returning id",
        again ? [job.id, job.worker] : [job.id, job.worker, JSON.stringify(failure)],
      );
      if (r.rowCount) changed.push(job);
    }
    return changed;
  }
}
