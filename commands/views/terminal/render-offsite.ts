import { formatAge, formatBytes, table } from "../../../src/format.js";
import type { OffsiteOutcome } from "../../kit/offsite-outcome.js";
import type { OffsiteListResult } from "../../list.js";
import type { Style } from "./render.js";

/** A backup's off-site line: where the proven copy is, or why there is none and what to run. */
export function offsiteLines(o: OffsiteOutcome, id: string, s: Style): string[] {
  if (!o.ok)
    return [
      `  ${s.bad("✖")} off-site copy failed: ${o.message}`,
      `    The local backup is good and listed. ${o.hint.replace("<ID>", id)}`,
    ];
  const proof = o.proof === "etag" ? "proven by the store's checksum" : "proven by reading it back";
  return [
    `  ${s.ok("✔")} off-site ${o.location} (${formatBytes(o.bytes)} encrypted to ${o.recipients.join(", ")}, ${o.already ? "copied before" : proof})`,
  ];
}

/** list's OFF-SITE cell: ✓, or "failed: why" (short), or "-" for never copied. */
export function offsiteCell(o: { ok: boolean; why?: string } | undefined): string {
  if (!o) return "-";
  if (o.ok) return "✓";
  return `failed: ${(o.why ?? "").slice(0, 60)}`;
}

/** `list --offsite`: the bucket's whole copies per env, newest first; copies cut short named apart. */
export function renderOffsiteList(r: OffsiteListResult, s: Style, now: Date): string {
  const lines: string[] = [];
  if (r.copies.length === 0) lines.push(`No off-site copies${r.env ? ` of ${r.env}` : ""} in ${r.offsite}.`);
  for (const env of [...new Set(r.copies.map((c) => c.env))]) {
    if (lines.length > 0) lines.push("");
    const rows = r.copies.filter((c) => c.env === env);
    lines.push(s.bold(`${env} (${rows.length}) in ${r.offsite}`));
    const cells = [["  ID", "LABEL", "SIZE", "AGE", "STAGE", "PROVEN"]];
    for (const c of rows)
      cells.push([
        `  ${c.id}`,
        c.label ?? "-",
        formatBytes(c.bytes),
        formatAge(now, c.createdAt),
        c.stage ?? "none",
        formatAge(now, c.provenAt),
      ]);
    lines.push(...table(cells));
  }
  if (r.incomplete.length > 0)
    lines.push("", s.warn(`copies cut short (not restorable, ignored): ${r.incomplete.join(", ")}`));
  return `${lines.join("\n")}\n`;
}
