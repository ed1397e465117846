import { rowAlarms, rowSummary } from "../../../src/backup/row-changes.js";
import type { ErrorCode } from "../../../src/errors.js";
import {
  formatBytes,
  formatDuration,
  formatExtensionChanges,
  STAGE_LABEL,
  shortVersion,
} from "../../../src/format.js";
import type { BackupResult } from "../../backup.js";
import {
  amber,
  type Block,
  context,
  escapeMrkdwn,
  failure,
  message,
  type SlackMessage,
  section,
  who,
} from "./blocks.js";

/** A backup's message in the channel: started (with progress), verified, failed; the restore hint. Pure. */

export interface BackupProgress {
  env: string;
  label: string | null;
  requestedBy: string;
  step: string;
  tablesDone: number;
  tablesTotal: number | undefined;
  bytes: number;
  elapsedMs: number;
}

export function backupStartedView(p: BackupProgress): SlackMessage {
  const what = `${p.env} backup${p.label ? ` (${escapeMrkdwn(p.label)})` : ""}`;
  const tables = p.tablesTotal ? `${p.tablesDone}/${p.tablesTotal} tables` : `${p.tablesDone} tables`;
  return message(`${p.requestedBy} started a ${p.env} backup`, [
    section(`:hourglass_flowing_sand: ${who(p.requestedBy)} started a ${what}`),
    context(`${p.step} · ${tables} · ${formatBytes(p.bytes)} written · ${formatDuration(p.elapsedMs)}`),
  ]);
}

export function backupDoneView(r: BackupResult): SlackMessage {
  const dump = r.files.find((f) => f.name === "db_full.dump");
  const stage = r.stage ? STAGE_LABEL[r.stage] : "none";
  const fields = [
    `*Stage* ${stage}`,
    `*Server* ${escapeMrkdwn(shortVersion(r.serverVersion))} (pg_dump ${escapeMrkdwn(r.pgDumpVersion)})`,
    `*Size* ${formatBytes(dump?.bytes ?? 0)} dump, ${formatBytes(r.totalBytes)} total`,
    `*sha256* \`${dump?.sha256.slice(0, 12) ?? "?"}\``,
    `*Extensions* ${r.extensions.length}${r.extensionChanges ? ` (since last: ${escapeMrkdwn(formatExtensionChanges(r.extensionChanges))})` : ""}`,
    `*Views* ${r.views} (${r.securityInvokerViews} security_invoker=true)`,
    `*TOC* ${r.tocEntries} entries: ${r.tocCounts.tables} tables (${r.tocCounts.tableData} with data)`,
    `*Time* ${formatDuration(r.durationMs)}, ${r.mbPerSecond} MB/s`,
  ];
  const blocks: Block[] = [
    section(
      `:white_check_mark: *${r.env} backup verified* \`${r.id}\`${r.label ? ` (${escapeMrkdwn(r.label)})` : ""}`,
    ),
    { type: "section", fields: fields.map((text) => ({ type: "mrkdwn", text })) },
  ];
  for (const w of r.warnings) blocks.push(context(`:warning: ${escapeMrkdwn(w)}`));
  if (r.rowChanges) {
    const alarms = rowAlarms(r.rowChanges);
    blocks.push(
      context(
        alarms.length > 0
          ? `:rotating_light: Since \`${r.rowChanges.since}\` (more than ${r.rowChanges.dropPercent}% lost): ${alarms.slice(0, 10).map(escapeMrkdwn).join("; ")}${alarms.length > 10 ? `; and ${alarms.length - 10} more` : ""}`
          : `Rows since \`${r.rowChanges.since}\`: ${rowSummary(r.rowChanges)}`,
      ),
    );
  }
  if (r.exposedViews.length > 0) {
    blocks.push(
      context(
        `:warning: ${r.exposedViews.length} view(s) readable by anon/authenticated without security_invoker=true, so they bypass RLS: ${r.exposedViews.map((v) => `\`${escapeMrkdwn(v)}\``).join(", ")}`,
      ),
    );
  }
  if (r.offsite?.ok === false) {
    blocks.push(
      context(
        `:warning: *Off-site copy failed:* ${escapeMrkdwn(r.offsite.message)} The backup here is good and listed; \`/dbbackup offsite ${r.id}\` tries again.`,
      ),
    );
    return amber(`${r.env} backup ${r.id} verified to stage ${stage}; its off-site copy failed`, blocks);
  }
  if (r.offsite)
    blocks.push(
      context(
        `:lock: Off-site ✓ \`${escapeMrkdwn(r.offsite.location)}\` (${formatBytes(r.offsite.bytes)}, encrypted, proven)`,
      ),
    );
  return message(`${r.env} backup ${r.id} verified to stage ${stage}`, blocks);
}

export function backupFailedView(
  env: string,
  requestedBy: string,
  problem: string,
  hint: string,
  code: ErrorCode = "internal_error",
): SlackMessage {
  return failure(code, `${env} backup failed: ${problem}`, [
    section(`:x: *${env} backup failed* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`),
    context(`What to do: ${escapeMrkdwn(hint)}`),
  ]);
}

export function restoreHintView(command: string): SlackMessage {
  return message(`Restore: ${command}`, [
    section(`To restore (practise it on a scratch database first):\n\`\`\`${command}\`\`\``),
  ]);
}
