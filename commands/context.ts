import type { BackupListener } from "../src/backup/events.js";
import type { Config } from "../src/config.js";

/** What every verb gets, from the CLI or (later) Slack: no terminal and no Slack in here. */
export interface CommandContext {
  config: Config;
  /** Who asked: "alice" at a terminal, a Slack user id from the bot. */
  requestedBy: string;
  signal?: AbortSignal;
  onEvent?: BackupListener;
  cwd?: string;
  /** The run's short id when the front end has one (the bot's job id): its sessions are dbbackup:<jobId>. */
  jobId?: string;
  /** Where the request came from, for the audit log (terminal when not said). */
  via?: "terminal" | "slack" | "schedule";
}
