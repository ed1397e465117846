import type { JobProgress } from "../../commands/kit/verb.js";
import type { SlackMessage } from "../../commands/views/slack/blocks.js";
import type { BackupEvent } from "../backup/events.js";

/**
 * Engine events → one channel message updated in place, at most once every `intervalMs`: Slack
 * rate-limits chat.update (about one a second per channel), and nobody reads faster anyway.
 */
export class SlackProgress {
  private state: JobProgress = {
    step: "starting",
    tablesDone: 0,
    tablesTotal: undefined,
    bytes: 0,
    elapsedMs: 0,
  };
  private timer: NodeJS.Timeout | undefined;
  private lastSent = 0;
  private closed = false;
  private readonly started = Date.now();

  constructor(
    private readonly view: (progress: JobProgress) => SlackMessage,
    private readonly update: (message: SlackMessage) => Promise<void>,
    private readonly intervalMs = 3_000,
  ) {}

  handle = (event: BackupEvent): void => {
    if (event.type === "step" && event.status === "started") this.state.step = event.step;
    else if (event.type === "tables")
      this.state = { ...this.state, tablesDone: event.done, tablesTotal: event.total };
    else if (event.type === "bytes") this.state.bytes = event.bytes;
    else return;
    this.schedule();
  };

  /** No more updates: the final view replaces the message. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const wait = Math.max(0, this.lastSent + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.lastSent = Date.now();
      this.state.elapsedMs = Date.now() - this.started;
      // A failed progress update is cosmetic; the final one is what matters.
      this.update(this.view(this.state)).catch(() => {});
    }, wait);
    this.timer.unref();
  }
}
