import type { StateStore } from "./store.js";

export type AuditKind =
  | "request"
  | "approval-requested"
  | "approved"
  | "denied"
  | "refused"
  | "expired"
  | "backup-started"
  | "backup-finished"
  | "backup-failed"
  | "backup-cancelled"
  | "backup-interrupted"
  | "job-followed-elsewhere"
  | "restore-test-started"
  | "restore-test-finished"
  | "restore-test-failed"
  | "restore-test-cancelled"
  | "restore-started"
  | "restore-finished"
  | "restore-failed"
  | "restore-cancelled"
  | "offsite-started"
  | "offsite-finished"
  | "offsite-failed"
  | "offsite-cancelled"
  | "pinned"
  | "unpinned"
  | "pruned"
  | "offsite-pruned"
  | "window-declared"
  | "window-cancelled"
  | "guardrail-posted"
  | "replay-refused";

/** The lines of a job the bot runs, by its verb (backups and restore tests). */
export type AuditedJob = "backup" | "restore-test" | "offsite" | "restore";

export function jobAuditKinds(
  job: AuditedJob,
): Record<"started" | "finished" | "failed" | "cancelled", AuditKind> {
  return {
    started: `${job}-started`,
    finished: `${job}-finished`,
    failed: `${job}-failed`,
    cancelled: `${job}-cancelled`,
  };
}

/** Every request, decision, run and failure, with who and when: one JSON line each, appended. */
export async function audit(
  store: StateStore,
  kind: AuditKind,
  // No field may be called `kind` (or `at`): it would disguise what the line records.
  fields: Record<string, string | number | boolean | null> & { kind?: never; at?: never },
): Promise<void> {
  try {
    await store.append("audit", { at: new Date().toISOString(), kind, ...fields });
  } catch {
    // The audit must never stop a backup; a full disk is reported by the backup itself.
  }
}
