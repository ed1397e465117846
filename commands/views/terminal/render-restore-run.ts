import { formatDuration } from "../../../src/format.js";
import { restoreAdvice } from "../../../src/restore/advice.js";
import { overlapLines } from "../../../src/restore/shipped-overlap.js";
import type { RestoreResult } from "../../restore.js";
import type { Style } from "./render.js";
import { parityLines } from "./render-restore.js";

/** `restore`: the plan (all of it, for a dry run), then what was restored and how it compares. */
export function renderRestore(r: RestoreResult, s: Style): string {
  const { plan } = r;
  const where = `${plan.target.display} (database ${plan.target.database}, Postgres ${plan.target.serverVersion})`;
  const lines: string[] = [];
  if (r.dryRun) lines.push(`${s.bold("Dry run")}: nothing was changed. Restoring ${r.id} would:`);
  else if (r.ok)
    lines.push(`${s.ok("✔")} ${s.bold(`${r.id} restored`)} into ${where} in ${formatDuration(r.durationMs)}`);
  else lines.push(`${s.bad("✖")} ${s.bold(`${r.id} restored with differences`)} into ${where}`);
  if (r.dryRun) {
    lines.push(`  target   ${where}`);
    lines.push(
      `  how      ${plan.inPlace ? "in place: pg_restore --clean --if-exists, after a pinned safety backup of the target" : "into a fresh database"}`,
    );
    if (plan.overSource) lines.push(`  ${s.warn("!")} the target is the database this backup was taken from`);
    if (plan.existing.length > 0)
      lines.push(
        `  replaces ${plan.existing.length} objects: ${plan.existing.slice(0, 10).join(", ")}${plan.existing.length > 10 ? ", …" : ""}`,
      );
  }
  if (plan.missingRoles.length > 0)
    lines.push(
      `  roles    ${r.dryRun ? "would create" : "created"} (NOLOGIN): ${plan.missingRoles.join(", ")}`,
    );
  for (const line of overlapLines(plan.platform)) lines.push(`  platform ${line}`);
  if (plan.missingExtensions.length > 0)
    lines.push(
      `  ${s.warn("!")} extensions the target can't create (their objects won't restore): ${plan.missingExtensions.join(", ")}`,
    );
  if (!r.dryRun) {
    lines.push(...parityLines(r.parity, r.compared, s));
    if (!r.ok) lines.push(`  → ${restoreAdvice(r.parity)}`);
  }
  if (r.safety)
    lines.push(
      "",
      `Safety backup of the target before it: ${r.safety.id} (pinned). To put it back:`,
      `  ${r.safety.command}`,
    );
  return `${lines.join("\n")}\n`;
}
