import { DbBackupError, isDbBackupError } from "../errors.js";

/** The URL as it may be shown: no password, no query string. */
export function stateLocation(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    return `postgresql://${user}${u.host}${u.pathname}`;
  } catch {
    return "postgresql://(unparsable URL)";
  }
}

/** The state database couldn't be used: where (no password) and what to do. */
export function stateUnreachable(location: string, error: unknown): DbBackupError {
  if (isDbBackupError(error)) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new DbBackupError(
    "state_unreachable",
    `The state database ${location} can't be used: ${why.replace(/postgres(ql)?:\/\/[^\s]*/g, location)}.`,
    "Check that it runs and takes connections (DBBACKUP_STATE_URL); dbbackup reconnects by itself, and nothing half-done was recorded as done.",
  );
}
