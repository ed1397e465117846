/**
 * How each failure ends: `refused` (the request or the configuration was wrong and nothing was
 * touched: exit 2), `failed` (it was tried and did not work: exit 1), `cancelled` (someone stopped
 * it: exit 130). The terminal's exit code and Slack's colour both come from here.
 */
type Outcome = "refused" | "failed" | "cancelled";

/** Every code a person can meet, and how it ends. README's error table lists each (a test checks). */
export const ERROR_CODES = {
  usage: "refused",
  config_invalid: "refused",
  bad_label: "refused",
  url_invalid: "refused",
  url_with_env: "refused",
  not_found: "refused",
  no_url: "refused",
  port_6543: "refused",
  compress_unsupported: "refused",
  not_a_backup: "refused",
  offsite_not_configured: "refused",
  offsite_no_recipients: "refused",
  identity_missing: "refused",
  identity_unreadable: "refused",
  wrong_identity: "refused",
  restore_target_too_old: "refused",
  restore_over_source: "refused",
  restore_target_not_empty: "refused",
  restore_unconfirmed: "refused",
  restore_roles_missing: "refused",
  restore_cannot_pause_triggers: "refused",
  restore_needs_approval: "refused",
  restore_denied: "refused",
  cancelled: "cancelled",
  age_missing: "failed",
  approvers_unknown: "failed",
  backup_running: "failed",
  bad_host: "failed",
  bad_manifest: "failed",
  client_too_old: "failed",
  connect_failed: "failed",
  connection_lost: "failed",
  disk_full: "failed",
  dump_failed: "failed",
  dump_killed: "failed",
  dump_limit: "failed",
  id_taken: "failed",
  internal_error: "failed",
  job_running: "failed",
  lease_lost: "failed",
  lock_timeout: "failed",
  no_database: "failed",
  not_allowed: "failed",
  not_verified: "failed",
  offsite_access_denied: "failed",
  offsite_bucket_missing: "failed",
  offsite_credentials: "failed",
  offsite_damaged: "failed",
  offsite_failed: "failed",
  offsite_interrupted: "failed",
  offsite_mismatch: "failed",
  offsite_unreachable: "failed",
  permission_denied: "failed",
  restore_killed: "failed",
  scratch_server_failed: "failed",
  server_binaries_missing: "failed",
  slack_auth: "failed",
  slack_post_failed: "failed",
  ssl_required: "failed",
  ssl_unsupported: "failed",
  state_busy: "failed",
  state_damaged: "failed",
  state_lock_lost: "failed",
  state_unreachable: "failed",
  state_unwritable: "failed",
  state_write_failed: "failed",
  supabase_api: "failed",
  supabase_auth: "failed",
  supabase_not_found: "failed",
  supabase_rate_limited: "failed",
  supabase_unreachable: "failed",
  verify_failed: "failed",
  worker_died: "failed",
  wrong_password: "failed",
  wrong_user: "failed",
} as const satisfies Record<string, Outcome>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

const EXIT_OF: Record<Outcome, number> = {
  refused: EXIT.usage,
  failed: EXIT.failed,
  cancelled: EXIT.cancelled,
};

/** Slack's colour bar: red for what failed or was stopped, amber for a request refused as given. */
const COLOUR_OF: Record<Outcome, string> = { refused: "#bf8700", failed: "#d1242f", cancelled: "#d1242f" };

export function exitCodeOf(code: ErrorCode): number {
  return EXIT_OF[ERROR_CODES[code]];
}

export function slackColourOf(code: ErrorCode): string {
  return COLOUR_OF[ERROR_CODES[code]];
}

/**
 * An error a person can act on: one line of what happened, one line of what to do.
 * Every failure that reaches a user (CLI, Slack) is one of these; anything else is a bug.
 */
export class DbBackupError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DbBackupError";
    this.code = code;
    this.hint = hint;
  }
}

export function isDbBackupError(value: unknown): value is DbBackupError {
  return value instanceof DbBackupError;
}
