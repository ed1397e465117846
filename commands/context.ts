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
}
