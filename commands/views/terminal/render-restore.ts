import { formatDuration } from "../../../src/format.js";
import { restoreAdvice } from "../../../src/restore/advice.js";
import { type ComparedKind, comparedLines, type ParityRow } from "../../../src/restore/parity.js";
import type { RestoreEvent } from "../../../src/restore/restore-test.js";
import type { RestoreTestResult } from "../../restore-test.js";
import type { Style } from "./render.js";

const SHOWN = 40;

/** The restore test's report: what passed (counted), what was expected to differ, what failed. */
export function renderRestoreTest(r: RestoreTestResult, s: Style): string {
  const head = r.ok
    ? `${s.ok("✔")} ${s.bold(`restore test of ${r.id} passed`)}: stage 3 restored`
    : `${s.bad("✖")} ${s.bold(`restore test of ${r.id} FAILED`)}: not restorable as recorded`;
  const lines = [
    head,
    `  Postgres ${r.serverMajor} scratch server, ${formatDuration(r.durationMs)}: ${r.summary}`,
  ];
  lines.push(...parityLines(r.parity, r.compared, s));
  const changed = r.parity.some((p) => p.kind === "file" && p.result === "failed");
  if (changed)
    lines.splice(
      1,
      0,
      "  The files changed since the backup was taken (their sha256 no longer matches the manifest); nothing was restored.",
    );
  if (!r.ok) lines.push(`  → ${restoreAdvice(r.parity)}`);
  if (r.offsite)
    lines.push(
      `  (the off-site copy in ${r.offsite}: fetched, decrypted, tested, then removed from this host)`,
    );
  else if (!r.recorded)
    lines.push(`  (${r.dir} is not in the backups folder: tested, not recorded for ${r.id})`);
  if (r.serverUrl) lines.push("", `The restored copy is at ${r.serverUrl} until you press Ctrl-C.`);
  return `${lines.join("\n")}\n`;
}

/** One plain line per step, as the restore test goes. */
export function renderRestoreEvent(e: RestoreEvent): string | undefined {
  if (e.type === "started") return `restore-testing ${e.id} on a Postgres ${e.serverMajor} scratch server`;
  if (e.status === "finished")
    return `${e.step} done in ${formatDuration(e.ms ?? 0)}${e.detail ? `: ${e.detail}` : ""}`;
  return undefined;
}

/** Parity as a person reads it: tables matched, then what was expected to differ and what failed. */
export function parityLines(
  parity: readonly ParityRow[],
  compared: readonly ComparedKind[],
  s: Style,
): string[] {
  const tables = parity.filter((p) => p.kind === "table");
  const okTables = tables.filter((p) => p.result === "ok").length;
  const lines = [`  tables: ${okTables} of ${tables.length} with the rows recorded at dump time`];
  for (const line of comparedLines(compared)) lines.push(`  ${line.startsWith("not") ? s.warn(line) : line}`);
  const notable = parity.filter((p) => p.result !== "ok");
  for (const p of notable.slice(0, SHOWN)) {
    const mark = p.result === "failed" ? s.bad("✖ failed  ") : s.warn("~ expected");
    lines.push(
      `  ${mark} ${p.kind} ${p.name}: expected ${p.expected}, got ${p.actual}${p.note ? ` (${p.note})` : ""}`,
    );
  }
  if (notable.length > SHOWN) lines.push(`  … and ${notable.length - SHOWN} more (--json has them all)`);
  return lines;
}
