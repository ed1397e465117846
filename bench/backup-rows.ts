/** One dataset's backup rows: time to stage 2 and size against the runbook's script, the -Z0 floor, raw pg_dump. */
import { compressArgs } from "./compression.js";
import { mebibytes, median, ratio, seconds } from "./format.js";
import type { TimedRuns } from "./timed-runs.js";

/** What the rows of one dataset say where they come from, e.g. "high-entropy 560 MB: ". */
export interface Dataset {
  prefix: string;
  timed: TimedRuns;
  /** BENCH_ALT_COMPRESS; "" when skipped. */
  altCompress: string;
}

const ms = (runs: readonly { ms: number }[]) => median(runs.map((r) => r.ms));
const bytes = (runs: readonly { dumpBytes: number }[]) => median(runs.map((r) => r.dumpBytes));

/** "gzip:1 by sample": each backup's choice, the distinct ones joined when rounds differ. */
function choiceLabel(timed: TimedRuns): string {
  const labels = new Set(timed.dbbackup.map((r) => `${r.compression} by ${r.chosenBy}`));
  return labels.size === 0 ? "?" : [...labels].join(" / ");
}

/** Time to stage 2 and dump size against the runbook's, at one compression. */
function vsRunbook(
  prefix: string,
  label: string,
  runs: TimedRuns["dbbackup"],
  runbook: TimedRuns["runbook"],
): string[][] {
  return [
    [
      `${prefix}time to stage 2 vs runbook script (${label})`,
      seconds(ms(runs)),
      seconds(ms(runbook)),
      ratio(ms(runs), ms(runbook)),
      "≤ 0.65",
    ],
    [
      `${prefix}dump size vs runbook's (${label})`,
      mebibytes(bytes(runs)),
      mebibytes(bytes(runbook)),
      ratio(bytes(runs), bytes(runbook)),
      "≤ 1.10",
    ],
  ];
}

/** The rows of one dataset, in the README's order. */
export function backupRows({ prefix, timed, altCompress }: Dataset): string[][] {
  const rows = vsRunbook(prefix, choiceLabel(timed), timed.dbbackup, timed.runbook);
  if (altCompress)
    rows.push(...vsRunbook(prefix, `DBBACKUP_COMPRESS=${altCompress}`, timed.dbbackupAlt, timed.runbook));
  rows.push([
    `${prefix}time to stage 2 over the floor: pg_dump -Fc -Z0 to a file`,
    seconds(ms(timed.dbbackup)),
    seconds(ms(timed.floor)),
    ratio(ms(timed.dbbackup), ms(timed.floor)),
    "(distance to the limit)",
  ]);
  if (timed.raw.length > 0) {
    rows.push([
      `${prefix}time vs raw pg_dump ${compressArgs(timed.dbbackup[0]?.compression).join(" ")} + pg_restore -f /dev/null`,
      seconds(ms(timed.dbbackup)),
      seconds(ms(timed.raw)),
      ratio(ms(timed.dbbackup), ms(timed.raw)),
      "≤ 1.05",
    ]);
  }
  return rows;
}
