import { rowAlarms, rowSummary } from "../../../src/backup/row-changes.js";
import { formatExtensionChanges } from "../../../src/format.js";
import type { DiffResult } from "../../diff.js";
import type { Style } from "./render.js";

/** The post-upgrade sanity report: what changed, and loudly what weakened security. */
export function renderDiff(d: DiffResult, s: Style): string {
  const lines = [s.bold(`${d.from} → ${d.to}`)];
  lines.push(
    `  server      ${d.version.changed ? s.warn(`${d.version.before} → ${d.version.after}`) : `${d.version.after} (unchanged)`}`,
  );
  lines.push(`  extensions  ${formatExtensionChanges(d.extensions)}`);
  const v = d.views;
  if (v.added.length + v.removed.length + v.changed.length === 0) lines.push("  views       unchanged");
  for (const name of v.added) lines.push(`  views       +${name}`);
  for (const name of v.removed) lines.push(`  views       −${name}`);
  for (const c of v.changed) {
    const text = `${c.view}: ${c.before} → ${c.after}`;
    lines.push(
      `  views       ${c.lostSecurityInvoker ? s.bad(`${text}  LOST security_invoker: anon/authenticated now read with the owner's rights`) : text}`,
    );
  }
  if (d.policies === undefined) lines.push("  policies    (not recorded in the older backup)");
  else if (d.policies.length === 0) lines.push("  policies    unchanged");
  else
    for (const p of d.policies)
      lines.push(
        `  policies    ${p.table}: ${p.before} → ${p.after}${p.after < p.before ? s.bad("  fewer") : ""}`,
      );
  if (d.rows) {
    lines.push(`  rows        ${rowSummary(d.rows)}`);
    for (const alarm of rowAlarms(d.rows))
      lines.push(`  rows        ${s.bad(`${alarm}  (more than ${d.rows.dropPercent}% lost)`)}`);
  }
  return `${lines.join("\n")}\n`;
}
