/** The bench's one table of results: a row per figure (medians against a baseline and a target), as markdown. */
import os from "node:os";
import { backupRows, type Dataset } from "./backup-rows.js";
import { mebibytes, median, ratio, seconds } from "./format.js";
import type { ListTimes } from "./list-times.js";
import { MB } from "./measure.js";
import { type OffsiteRound, offsiteRows } from "./offsite.js";
import { type ReplicaAcks, replicaAckRow } from "./replica-acks.js";
import type { RestoreComparison } from "./restore-compare.js";
import { type FreshRestore, freshRestoreRow } from "./restore-fresh.js";
import type { AckFigures } from "./slack-ack.js";
import type { TimedRuns } from "./timed-runs.js";
import { type WorkerThroughput, workersRow } from "./workers.js";

export interface Figures {
  timed: TimedRuns;
  /** BENCH_ALT_COMPRESS; "" when skipped. */
  altCompress: string;
  /** The second, high-entropy database's backup rows (issue 15); undefined when not run. */
  entropy: Dataset | undefined;
  restore: RestoreComparison | undefined;
  /** `dbbackup restore --to-url` into a fresh database vs raw pg_restore (issue 13). */
  freshRestore: FreshRestore | undefined;
  acks: AckFigures;
  /** Peak RSS of the idle CLI. */
  idleRss: number | undefined;
  listMs: ListTimes | undefined;
  offsite: OffsiteRound[] | undefined;
  workers: WorkerThroughput | undefined;
  replicaAcks: ReplicaAcks | undefined;
}

export function restoreRow(restore: RestoreComparison | undefined): string[] {
  return [
    `restore-test (stage 3${restore?.ok === false ? ", FAILED" : ""}) vs server start + raw pg_restore -j2`,
    seconds(restore?.dbbackupMs),
    seconds(restore?.rawMs),
    restore === undefined || Number.isNaN(restore.ratio) ? "n/a" : restore.ratio.toFixed(2),
    "≤ 1.20",
  ];
}

/** The Slack bot: ack latency of slash commands during a dump, and its RSS meanwhile. */
function botRows({ acks }: Figures): string[][] {
  return [
    [
      `Slack ack p50 / p99 of ${acks.commands} slash commands (${acks.duringDump} during a dump${acks.backupOk ? "" : ", dump FAILED"})`,
      `${acks.p50Ms.toFixed(1)} / ${acks.p99Ms.toFixed(1)} ms`,
      "50 ms",
      ratio(acks.p99Ms, 50),
      "p99 ≤ 50 ms",
    ],
    [
      "bot RSS during that dump vs idle",
      mebibytes(acks.peakRssBytes),
      mebibytes(acks.idleRssBytes),
      `+${((acks.peakRssBytes - acks.idleRssBytes) / MB).toFixed(1)} MB`,
      "",
    ],
  ];
}

function cliRssRow({ timed, idleRss }: Figures): string[] {
  const ourRss = median(timed.dbbackup.map((r) => r.peakRssBytes));
  const rssDelta = ourRss === undefined || idleRss === undefined ? undefined : ourRss - idleRss;
  return [
    "peak RSS vs idle CLI",
    mebibytes(ourRss),
    mebibytes(idleRss),
    rssDelta === undefined ? "n/a" : `+${(rssDelta / MB).toFixed(1)} MB`,
    "≤ +30 MB",
  ];
}

function listRows({ listMs }: Figures): string[][] {
  return [
    [
      "list over 1,000 backups (listing work, in-process)",
      listMs === undefined ? "n/a" : `${listMs.inProcessMs.toFixed(0)} ms`,
      "200 ms",
      listMs === undefined ? "n/a" : ratio(listMs.inProcessMs, 200),
      "≤ 200 ms",
    ],
    [
      "`dbbackup list` over 1,000 backups (CLI, Node start-up included)",
      listMs === undefined ? "n/a" : `${listMs.cliMs.toFixed(0)} ms`,
      listMs === undefined ? "n/a" : `${listMs.emptyCliMs.toFixed(0)} ms with 0`,
      listMs === undefined ? "n/a" : ratio(listMs.cliMs, 200),
      "≤ 200 ms",
    ],
  ];
}

export const HEADER = ["metric", "dbbackup", "baseline", "ratio", "target"];

/** The header row, then one row per figure, in the README's order. */
export function resultRows(figures: Figures): string[][] {
  const { timed, altCompress, entropy } = figures;
  return [
    HEADER,
    ...backupRows({ prefix: "", timed, altCompress }),
    ...(entropy ? backupRows(entropy) : []),
    restoreRow(figures.restore),
    freshRestoreRow(figures.freshRestore),
    ...botRows(figures),
    cliRssRow(figures),
    ...listRows(figures),
    ...offsiteRows(figures.offsite),
    workersRow(figures.workers),
    replicaAckRow(figures.replicaAcks),
  ];
}

/** The table as printed: a caption, then the rows as markdown with padded columns; undefined if no rows. */
export function renderTable(rows: string[][], databaseBytes: number, rounds: number): string | undefined {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  const [header, ...body] = rows;
  if (!header) return undefined;
  const out = [
    "",
    `Postgres 15, pg_database_size ${mebibytes(databaseBytes)}, ${os.availableParallelism()} CPUs, ` +
      `median of ${rounds} round${rounds === 1 ? "" : "s"}`,
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "",
  ];
  return `${out.join("\n")}\n`;
}
