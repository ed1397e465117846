import type { StageResult } from "../../../src/backup/manifest.js";
import { rowAlarms, rowSummary } from "../../../src/backup/row-changes.js";
import type { DbBackupError } from "../../../src/errors.js";
import {
  formatAge,
  formatBytes,
  formatDuration,
  formatExtensionChanges,
  STAGE_LABEL,
  shortVersion,
  table,
} from "../../../src/format.js";
import type { BackupResult } from "../../backup.js";
import type { ListResult } from "../../list.js";
import type { VerifyResult } from "../../verify.js";
import { offsiteCell, offsiteLines } from "./render-offsite.js";

/** Terminal views: pure functions of result objects. */

export interface Style {
  ok(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
export const COLOR: Style = {
  ok: wrap(32, 39),
  bad: wrap(31, 39),
  warn: wrap(33, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};
const same = (text: string) => text;
export const PLAIN: Style = { ok: same, bad: same, warn: same, dim: same, bold: same };

function stageLine(stage: StageResult, s: Style): string {
  const failed = stage.checks.filter((c) => !c.ok);
  const mark = stage.ok ? s.ok("✔") : s.bad("✖");
  const what =
    stage.stage === "dumped"
      ? `${stage.checks.length} files non-empty, sha256 recorded`
      : `TOC agrees with the live catalog, every data block read`;
  const detail = stage.ok ? what : failed.map((c) => `${c.name}: ${c.detail}`).join("; ");
  return `${mark} stage ${STAGE_LABEL[stage.stage]}  ${s.dim(`(${formatDuration(stage.ms)})`)}  ${detail}`;
}

export function renderBackup(r: BackupResult, s: Style): string {
  const dump = r.files.find((f) => f.name === "db_full.dump");
  const schema = r.files.find((f) => f.name === "schema.sql");
  const stageName = r.stage ? STAGE_LABEL[r.stage] : "none";
  const c = r.tocCounts;
  const lines = [
    `${s.ok("✔")} ${s.bold(`${r.env} backup ${r.id}`)} verified to stage ${stageName}`,
    ...table([
      ["  folder", r.dir],
      ["  from", `${r.target} (${r.source})`],
      [
        "  server",
        `${shortVersion(r.serverVersion)}, dumped with pg_dump ${r.pgDumpVersion}, ${r.compression}`,
      ],
      ...(r.compressionWhy ? [["  compressed", `${r.compression} (${r.compressionWhy})`]] : []),
      [
        "  size",
        `db_full.dump ${formatBytes(dump?.bytes ?? 0)}, schema.sql ${formatBytes(schema?.bytes ?? 0)}, total ${formatBytes(r.totalBytes)} (database ${formatBytes(r.databaseBytes)})`,
      ],
      ["  sha256", `db_full.dump ${dump?.sha256.slice(0, 16) ?? "?"}…`],
      [
        "  extensions",
        `${r.extensions.length}: ${r.extensions.map((e) => `${e.name} ${e.version}`).join(", ")}`,
      ],
      ["  views", `${r.views}, ${r.securityInvokerViews} with security_invoker=true`],
      ...(r.extensionChanges
        ? [
            [
              "  changes",
              `extensions since ${r.extensionChanges.since}: ${formatExtensionChanges(r.extensionChanges)}`,
            ],
          ]
        : []),
      ...(r.rowChanges ? [["  rows", `since ${r.rowChanges.since}: ${rowSummary(r.rowChanges)}`]] : []),
      [
        "  TOC",
        `${r.tocEntries} entries: ${c.tables} tables (${c.tableData} with data), ${c.views} views, ${c.policies} policies, ${c.extensions} extensions, ${c.functions} functions`,
      ],
      ["  time", `${formatDuration(r.durationMs)}, ${r.mbPerSecond} MB/s`],
    ]),
    ...r.stages.map((st) => `  ${stageLine(st, s)}`),
  ];
  if (r.offsite) lines.push(...offsiteLines(r.offsite, r.id, s));
  for (const w of r.warnings) lines.push(`  ${s.warn("!")} ${w}`);
  if (r.rowChanges) {
    for (const alarm of rowAlarms(r.rowChanges))
      lines.push(
        `  ${s.bad("!")} ${alarm} since ${r.rowChanges.since} (more than ${r.rowChanges.dropPercent}% lost)`,
      );
  }
  if (r.exposedViews.length > 0) {
    lines.push(
      `  ${s.warn("!")} ${r.exposedViews.length} view(s) readable by anon/authenticated without security_invoker=true (they bypass RLS): ${r.exposedViews.join(", ")}`,
    );
  }
  if (r.restoreCommand) {
    lines.push(
      "",
      `Restore it (into an empty or disposable database first; practise quarterly):`,
      `  ${r.restoreCommand}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** "passed 2d ago" / "FAILED 3h ago": the latest restore test of a backup (plain: the table aligns it). */
function restoreTestCell(t: { ok: boolean; at: string }, now: Date): string {
  return `${t.ok ? "passed" : "FAILED"} ${formatAge(now, t.at)}`;
}

export function renderList(r: ListResult, s: Style, now: Date): string {
  const lines: string[] = [];
  if (r.backups.length === 0) {
    lines.push(`No backups${r.env ? ` of ${r.env}` : ""} in ${r.root}.`);
  }
  const envs = [...new Set(r.backups.map((b) => b.env))];
  for (const env of envs) {
    const rows = r.backups.filter((b) => b.env === env);
    if (lines.length > 0) lines.push("");
    lines.push(s.bold(`${env} (${rows.length})`));
    // PIN only when something in this env is pinned (`dbbackup keep`): last, so a long reason aligns nothing.
    const pins = rows.some((b) => b.pin);
    // RESTORE TEST only when one ran in this env: a failed one must not hide behind "2 readable".
    const tests = rows.some((b) => b.restoreTest);
    // OFF-SITE only when some backup here was copied or tried.
    const offsite = rows.some((b) => b.offsite);
    // ON only when another host filed some (a shared state database): where its folder is.
    const hosts = rows.some((b) => b.host);
    const cells = [
      [
        "  ID",
        "LABEL",
        "SIZE",
        "AGE",
        "STAGE",
        "BY",
        ...(tests ? ["RESTORE TEST"] : []),
        ...(offsite ? ["OFF-SITE"] : []),
        ...(hosts ? ["ON"] : []),
        ...(pins ? ["PIN"] : []),
      ],
    ];
    for (const b of rows) {
      const stage = b.stage ? STAGE_LABEL[b.stage] : "none";
      const verify = b.lastVerify && !b.lastVerify.ok ? " (re-verify FAILED)" : "";
      cells.push([
        `  ${b.id}`,
        b.label ?? "-",
        formatBytes(b.totalBytes),
        formatAge(now, b.finishedAt),
        stage + verify,
        b.requestedBy,
        ...(tests ? [b.restoreTest ? restoreTestCell(b.restoreTest, now) : "-"] : []),
        ...(offsite ? [offsiteCell(b.offsite)] : []),
        ...(hosts ? [b.host ?? "here"] : []),
        ...(pins ? [b.pin ? `pinned${b.pin.reason ? `: ${b.pin.reason}` : ` by ${b.pin.by}`}` : "-"] : []),
      ]);
    }
    lines.push(...table(cells));
  }
  for (const run of r.running) {
    lines.push(
      "",
      s.warn(
        `running: ${run.env} backup ${run.id}, started by ${run.requestedBy} ${formatAge(now, run.startedAt)}`,
      ),
    );
  }
  for (const u of r.unreadable) lines.push(s.warn(`not a backup (ignored): ${u.dir}: ${u.reason}`));
  return `${lines.join("\n")}\n`;
}

export function renderVerify(r: VerifyResult, s: Style): string {
  const head = r.ok
    ? `${s.ok("✔")} ${s.bold(r.id)} still verifies: files unchanged, archive readable`
    : `${s.bad("✖")} ${s.bold(r.id)} FAILED verification: ${r.problem ?? ""}`;
  const lines = [head, ...r.stages.map((st) => `  ${stageLine(st, s)}`)];
  if (!r.ok)
    lines.push(
      `  → Don't restore from this backup; take a new one (dbbackup ${r.env === "adhoc" ? "--url …" : r.env}).`,
    );
  if (!r.recorded) lines.push(`  (${r.dir} is not in the backups folder: checked, not recorded for ${r.id})`);
  return `${lines.join("\n")}\n`;
}

export function renderError(error: DbBackupError & { logFile?: string }, s: Style): string {
  const lines = [`${s.bad("✖")} ${error.message}`, `  → ${error.hint}`];
  if (error.logFile) lines.push(`  log: ${error.logFile}`);
  return `${lines.join("\n")}\n`;
}
