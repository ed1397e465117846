import { closeSync, openSync, writeSync } from "node:fs";
import { redactText } from "../redact.js";

/** Synchronous appends: a run killed with SIGKILL still leaves every line it reached. */
export class RunLog {
  private fd: number | undefined;
  constructor(
    readonly file: string,
    private readonly secrets: string[],
  ) {
    try {
      this.fd = openSync(file, "a", 0o600);
    } catch {
      this.fd = undefined; // no log is better than no backup error message
    }
  }
  line(text: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, `${new Date().toISOString()} ${redactText(text, this.secrets)}\n`);
    } catch {
      // a full disk must not turn a clear error into a crash
    }
  }
  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
