/**
 * An error a person can act on: one line of what happened, one line of what to do.
 * Every failure that reaches a user (CLI, Slack) is one of these; anything else is a bug.
 */
export class DbBackupError extends Error {
  readonly code: string;
  readonly hint: string;

  constructor(code: string, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DbBackupError";
    this.code = code;
    this.hint = hint;
  }
}

export function isDbBackupError(value: unknown): value is DbBackupError {
  return value instanceof DbBackupError;
}
