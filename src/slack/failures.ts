import { DbBackupError, isDbBackupError } from "../errors.js";

/** A failure as a person reads it: ours as it is, anything else as "failed unexpectedly" (the log has it). */
export function clearError(error: unknown, unexpected = "dbbackup failed unexpectedly."): DbBackupError {
  return isDbBackupError(error)
    ? error
    : new DbBackupError("internal_error", unexpected, "The bot's log has the details.");
}

/** Slack's own error code (`not_in_channel`, `invalid_auth`…) of a failed Web API call, else its message. */
export function slackErrorCode(error: unknown): string {
  return (
    (error as { data?: { error?: string } }).data?.error ??
    (error instanceof Error ? error.message : String(error))
  );
}

/**
 * Text bound for Slack with the backups folder's path on the bot's host named, not shown: a reader
 * in the channel can't use `/srv/dbbackup/backups/...`, and it tells an attacker where things are. Pure.
 */
export function onTheBotsHost(text: string, root: string): string {
  if (!root || root === "/") return text;
  const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}(?:/[^\\s,;:)]*)?`, "g"), "the backups folder on the bot's host");
}
