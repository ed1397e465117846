import type { BackupEvent } from "../backup/events.js";
import { formatBytes, formatDuration } from "../format.js";

interface Sink {
  write(text: string): unknown;
}

/** Turns engine events into a live bar on a terminal, or into plain lines for logs and pipes. */
export class ProgressReporter {
  private tables = { done: 0, total: undefined as number | undefined };
  private bytes = 0;
  private readonly started = Date.now();
  // The first plain line waits 5 s too: at the very start it could only say "0 tables, 0 B".
  private lastPlain = Date.now();
  private barShown = false;

  constructor(
    private readonly out: Sink,
    private readonly tty: boolean,
    private readonly columns = 100,
  ) {}

  handle = (event: BackupEvent): void => {
    switch (event.type) {
      case "started":
        this.line(
          `backing up ${event.env}${event.label ? ` (${event.label})` : ""} from ${event.target} → ${event.id}`,
        );
        break;
      case "warning":
        this.line(`! ${event.message}`);
        break;
      case "cleaned":
        this.line(`removed ${event.paths.length} abandoned in-progress folder(s): ${event.paths.join(", ")}`);
        break;
      case "step":
        if (event.status === "finished" && event.step === "dump") {
          // The dump's final figures, whatever the last progress line happened to catch.
          this.line(`dump done in ${formatDuration(event.ms ?? 0)}: ${this.counts()}`);
        } else if (event.status === "finished" && event.step !== "finalize") {
          this.line(`${event.step} done in ${formatDuration(event.ms ?? 0)}`);
        } else if (event.status === "started" && !this.tty) this.line(`${event.step}…`);
        break;
      case "tables":
        this.tables = { done: event.done, total: event.total };
        this.tick();
        break;
      case "bytes":
        this.bytes = event.bytes;
        this.tick();
        break;
      case "stage":
        this.line(`stage ${event.stage}: ${event.ok ? "passed" : "FAILED"} (${formatDuration(event.ms)})`);
        break;
    }
  };

  /** Clears the bar, so what follows starts on a clean line. */
  finish(): void {
    if (this.tty && this.barShown) this.out.write("\r\u001b[2K");
    this.barShown = false;
  }

  /** "12/608 tables' data, 20.0 MB written": tables whose rows pg_dump has dumped, of those that have rows to dump. */
  private counts(): string {
    const { done, total } = this.tables;
    const tables = total ? `${done}/${total} tables' data` : `${done} tables' data`;
    return `${tables}, ${formatBytes(this.bytes)} written`;
  }

  private status(): string {
    return `${this.counts()}, ${formatDuration(Date.now() - this.started)}`;
  }

  private tick(): void {
    if (this.tty) {
      const { done, total } = this.tables;
      const width = 24;
      const filled = total ? Math.min(width, Math.round((done / total) * width)) : 0;
      const bar = total ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
      const text = `dump ${bar}${this.status()}`.slice(0, this.columns - 1);
      this.out.write(`\r\u001b[2K${text}`);
      this.barShown = true;
      return;
    }
    // Plain output: at most one progress line every 5 s, so logs stay readable.
    const now = Date.now();
    if (now - this.lastPlain < 5_000) return;
    this.lastPlain = now;
    this.line(`dump: ${this.status()}`);
  }

  private line(text: string): void {
    this.finish();
    this.out.write(`${text}\n`);
  }
}
