/** The bench's one table of results: a row per figure (medians against a baseline and a target), as markdown. */
import os from "node:os";
import { compressArgs } from "./compression.js";
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

/** Time to stage 2 and dump size against the runbook's script, then time against raw pg_dump. */
function backupRows({ timed, altCompress }: Figures): string[][] {
  const runbookMs = median(timed.runbook.map((r) => r.ms));
  const runbookBytes = median(timed.runbook.map((r) => r.dumpBytes));
  const rawMs = median(timed.raw.map((r) => r.ms));
  const ourMs = median(timed.dbbackup.map((r) => r.ms));
  const ourBytes = median(timed.dbbackup.map((r) => r.dumpBytes));
  const altMs = median(timed.dbbackupAlt.map((r) => r.ms));
  const altBytes = median(timed.dbbackupAlt.map((r) => r.dumpBytes));
  const defaultCompression = timed.dbbackup[0]?.compression ?? "?";
  return [
    [
      `time to stage 2 vs runbook script (default ${defaultCompression})`,
      seconds(ourMs),
      seconds(runbookMs),
      ratio(ourMs, runbookMs),
      "≤ 0.65",
    ],
    [
      `dump size vs runbook's (default ${defaultCompression})`,
      mebibytes(ourBytes),
      mebibytes(runbookBytes),
      ratio(ourBytes, runbookBytes),
      "≤ 1.10",
    ],
    ...(altCompress
      ? [
          [
            `time to stage 2 vs runbook script (DBBACKUP_COMPRESS=${altCompress})`,
            seconds(altMs),
            seconds(runbookMs),
            ratio(altMs, runbookMs),
            "≤ 0.65",
          ],
          [
            `dump size vs runbook's (DBBACKUP_COMPRESS=${altCompress})`,
            mebibytes(altBytes),
            mebibytes(runbookBytes),
            ratio(altBytes, runbookBytes),
            "≤ 1.10",
          ],
        ]
      : []),
    [
      `time vs raw pg_dump ${compressArgs(timed.dbbackup[0]?.compression).join(" ")} + pg_restore -f /dev/null`,
      seconds(ourMs),
      seconds(rawMs),
      ratio(ourMs, rawMs),
      "≤ 1.05",
    ],
  ];
}

function restoreRow({ restore }: Figures): string[] {
  return [
    `restore-test (stage 3${restore?.ok === false ? ", FAILED" : ""}) vs server start + raw pg_restore -j2`,
    seconds(restore?.dbbackupMs),
    seconds(restore?.rawMs),
    ratio(restore?.dbbackupMs, restore?.rawMs),
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

/** The header row, then one row per figure, in the README's order. */
export function resultRows(figures: Figures): string[][] {
  return [
    ["metric", "dbbackup", "baseline", "ratio", "target"],
    ...backupRows(figures),
    restoreRow(figures),
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
