import type { BackupListener } from "../../src/backup/events.js";
import type { Config } from "../../src/config.js";
import type { Notice } from "../../src/guardrails/notices.js";
import type { GuardrailSettings } from "../../src/guardrails/settings.js";
import type { RestoreEvent } from "../../src/restore/restore-test.js";

/** A job the bot runs now (a backup, a restore test), as status and cancel see it. */
export interface RunningJob {
  id: string;
  env: string;
  label: string | null;
  title: string;
  requestedBy: string;
  startedAt: string;
}

/** The bot's running jobs, for status and cancel (absent at the terminal). */
export interface JobControl {
  list(): RunningJob[];
  /** What to say back: cancelled, which one, or why not. */
  cancel(requestedBy: string, id: string | undefined): Promise<string>;
}

/**
 * What every verb gets, from the terminal, the bot or the schedule: who asked and from where, the
 * settings, a way to stop, where events go, and the clock. No terminal and no Slack in here.
 */
export interface CommandContext {
  config: Config;
  /** Who asked: "alice" at a terminal, a Slack user id from the bot. */
  requestedBy: string;
  /** Where the request came from, for the audit log (terminal when not said). */
  via?: "terminal" | "slack" | "schedule";
  signal?: AbortSignal;
  /** A backup's progress. */
  onEvent?: BackupListener;
  /** A restore test's progress. */
  onRestoreEvent?: (event: RestoreEvent) => void;
  /** A line for the person waiting (the demo's narration). */
  onNote?: (line: string) => void;
  /** A guardrail notice, shown before it is posted anywhere. */
  onNotice?: (notice: Notice) => void;
  /** Where a folder path given as a ref is relative to. */
  cwd?: string;
  /** The run's short id when the front end has one (the bot's job id): its sessions are dbbackup:<jobId>. */
  jobId?: string;
  /** Who approved this request, when a second person had to (the bot's approved jobs). */
  approvedBy?: string | null;
  /** The clock (tests move it). */
  now?: () => Date;
  /** The bot's running jobs (status, cancel). */
  jobs?: JobControl;
  /** The guardrails' settings, when the front end has them (the bot); else read from the settings. */
  guardrails?: GuardrailSettings;
  /** True when the output is JSON (verbs that print as they go stay quiet). */
  json?: boolean;
}
