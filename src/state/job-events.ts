import type { WorkQueue } from "./work-queue.js";

/**
 * A job's events on their way to the state database, in order, without a round trip each: the first
 * goes at once, and those sent while an insert is in flight go together in the next one.
 */
export class JobEventWriter {
  private pending: unknown[] = [];
  private writing: Promise<void> | undefined;

  constructor(
    private readonly queue: Pick<WorkQueue, "addEvents">,
    private readonly jobId: string,
  ) {}

  send(event: unknown): void {
    this.pending.push(event);
    this.writing ??= this.drain();
  }

  /**
   * Every event sent so far is written, or given up on: events an insert failed to write (the state
   * database unreachable) are lost to the bot's message, and the job goes on.
   */
  flushed(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.queue.addEvents(this.jobId, batch).catch(() => {});
    }
    // Nothing awaited between the last look and here: a send from now on starts the next drain.
    this.writing = undefined;
  }
}
