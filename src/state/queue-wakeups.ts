import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { z } from "zod/v3";

/**
 * Idle workers woken as soon as a job is queued: the enqueue notifies this channel when it commits,
 * and a worker LISTENs on a connection of its own. Polling stays the fallback: a notification missed
 * (the connection dropped, the database restarted) only means the next poll finds the job.
 */

export const QUEUE_CHANNEL = "dbbackup_queue";
/** The listening connection's application_name, as pg_stat_activity shows it. */
export const WAKEUPS_APPLICATION = "dbbackup worker wake-ups";

/** What the enqueue says: the job's env (null for a job of none). */
const wakeupSchema = z.object({ env: z.string().nullable() });

/** A lost connection is made again after this long, doubled each failure, up to RETRY_MOST_MS. */
const RETRY_FIRST_MS = 250;
const RETRY_MOST_MS = 10_000;

/** pg's Client.ref/unref (what the pool's allowExitOnIdle uses), missing from @types/pg. */
type Referenced = pg.Client & { ref?: () => void; unref?: () => void };

export class QueueWakeups {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;
  private count = 0;
  private readonly waiting = new Set<() => void>();

  /**
   * `newClient` makes an unconnected connection (each try a new one); `envs`, when given, are the only
   * envs whose jobs wake this worker (it takes no others).
   */
  constructor(
    private readonly newClient: () => Promise<pg.Client>,
    private readonly envs: readonly string[] | null,
  ) {}

  /** Starts listening, in the background: until it listens (and whenever it doesn't), waits just time out. */
  start(): void {
    void this.listen();
  }

  /** Wake-ups so far: read before looking for work, and given to `wait`, none between the two is missed. */
  get seen(): number {
    return this.count;
  }

  /** Waits for a wake-up after `since` (see `seen`), `ms`, or `signal`, whichever comes first. */
  wait(ms: number, since: number, signal: AbortSignal): Promise<void> {
    if (this.count !== since || signal.aborted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.waiting.add(done);
    });
  }

  /** Stops listening; waits in progress end now. A goodbye the server doesn't answer is waited for 1 s at most. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.wake();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // Held by this wait (it was unref'd): a process whose last work this is must not exit half-way.
    (client as Referenced).ref?.();
    const waited = new AbortController();
    await Promise.race([
      client.end().catch(() => {}),
      sleep(1_000, undefined, { signal: waited.signal }).catch(() => {}),
    ]);
    waited.abort();
  }

  private wake(): void {
    this.count++;
    for (const done of [...this.waiting]) done();
  }

  /** A job of an env this worker takes (or a notification it can't read: a needless look is cheap). */
  private concerns(payload: string | undefined): boolean {
    if (this.envs === null) return true;
    let sent: unknown;
    try {
      sent = JSON.parse(payload ?? "");
    } catch {
      return true;
    }
    const parsed = wakeupSchema.safeParse(sent);
    return !parsed.success || (parsed.data.env !== null && this.envs.includes(parsed.data.env));
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    let client: pg.Client;
    try {
      client = await this.newClient();
    } catch {
      this.again();
      return;
    }
    let lost = false;
    const drop = () => {
      if (lost || this.closed) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => {});
      this.again();
    };
    // A pg client without an error listener would crash the process when its connection drops.
    client.on("error", drop);
    client.on("end", drop);
    client.on("notification", (message) => {
      if (message.channel === QUEUE_CHANNEL && this.concerns(message.payload)) this.wake();
    });
    try {
      await client.connect();
      await client.query(`listen ${QUEUE_CHANNEL}`);
    } catch {
      drop();
      return;
    }
    if (this.closed || lost) {
      if (!lost) void client.end().catch(() => {});
      return;
    }
    this.client = client;
    // Like the pool's idle connections, this one never keeps a process from exiting: its lanes do.
    (client as Referenced).unref?.();
    this.retryMs = RETRY_FIRST_MS;
    // A job queued while nothing listened (starting, reconnecting) sent its notification to no one: look now.
    this.wake();
  }

  private again(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.listen();
    }, this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MOST_MS);
  }
}
