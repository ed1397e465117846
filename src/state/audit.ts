import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";

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
  | "pruned"
  | "window-declared"
  | "window-cancelled"
  | "guardrail-posted";

/** Every request, decision, run and failure, with who and when: one JSON line each, appended. */
export function audit(
  root: string,
  kind: AuditKind,
  // No field may be called `kind` (or `at`): it would disguise what the line records.
  fields: Record<string, string | number | boolean | null> & { kind?: never; at?: never },
): void {
  const file = path.join(root, ".state", "audit.jsonl");
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), kind, ...fields })}\n`);
  } catch {
    // The audit must never stop a backup; a full disk is reported by the backup itself.
  }
}
