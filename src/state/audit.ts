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
  fields: Record<string, string | number | boolean | null>,
): void {
  const file = path.join(root, ".state", "audit.jsonl");
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // `kind` last: a field of the same name must never disguise what the line records.
    appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...fields, kind })}\n`);
  } catch {
    // The audit must never stop a backup; a full disk is reported by the backup itself.
  }
}
