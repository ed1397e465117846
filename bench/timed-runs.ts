/**
 * The timed backups behind the time and size rows: dbbackup (its own choice and BENCH_ALT_COMPRESS),
 * the runbook's script, raw pg_dump + pg_restore and the -Z0 floor, in rounds; then the optional
 * BENCH_SURVEY dumps.
 */
import { rm } from "node:fs/promises";
import { type BaselineResult, dumpFloor, rawDumpAndRead, runbookScript } from "./baselines.js";
import { compressArgs, surveyLevels } from "./compression.js";
import { type DbbackupRun, dbbackupBackup } from "./dbbackup-cli.js";
import { log, mebibytes, median, ratio, seconds } from "./format.js";

export interface TimedRuns {
  runbook: BaselineResult[];
  raw: BaselineResult[];
  /** pg_dump -Fc -Z0 to a file. */
  floor: BaselineResult[];
  dbbackup: DbbackupRun[];
  dbbackupAlt: DbbackupRun[];
  /** The first dbbackup backup's folder, kept for the restore-test and off-site rows. */
  keptBackup: string | undefined;
}

interface Job {
  name: string;
  run: () => Promise<void>;
}

/** A new, unused directory under the bench's work dir. */
export type FreshDir = () => string;

function stepsLine(result: BaselineResult): string {
  return result.steps.map((s) => `${s.step} ${seconds(s.ms)}`).join(", ");
}

function dbbackupJob(url: string, fresh: FreshDir, runs: TimedRuns, keep: boolean): Job {
  return {
    name: "dbbackup",
    run: async () => {
      const out = fresh();
      const result = await dbbackupBackup(url, out);
      runs.dbbackup.push(result);
      log(
        `dbbackup: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${result.compression}: ${result.why}), peak RSS ${mebibytes(result.peakRssBytes)}, steps ${JSON.stringify(result.manifest.durationsMs)}`,
      );
      // The first backup stays for the restore-test comparison.
      if (keep && runs.keptBackup === undefined) runs.keptBackup = out;
      else await rm(out, { recursive: true, force: true });
    },
  };
}

function floorJob(url: string, fresh: FreshDir, runs: TimedRuns): Job {
  return {
    name: "pg_dump -Z0 floor",
    run: async () => {
      const out = fresh();
      const result = await dumpFloor(url, out);
      runs.floor.push(result);
      log(`floor pg_dump -Fc -Z0: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)}`);
      await rm(out, { recursive: true, force: true });
    },
  };
}

function runbookJob(url: string, fresh: FreshDir, runs: TimedRuns): Job {
  return {
    name: "runbook script",
    run: async () => {
      const out = fresh();
      const result = await runbookScript(url, out);
      runs.runbook.push(result);
      log(
        `runbook script: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${stepsLine(result)})`,
      );
      await rm(out, { recursive: true, force: true });
    },
  };
}

/** dbbackup with DBBACKUP_COMPRESS=altCompress; none when it is "". */
function altCompressJobs(url: string, altCompress: string, fresh: FreshDir, runs: TimedRuns): Job[] {
  if (!altCompress) return [];
  return [
    {
      name: `dbbackup ${altCompress}`,
      run: async () => {
        const out = fresh();
        const result = await dbbackupBackup(url, out, altCompress);
        runs.dbbackupAlt.push(result);
        log(
          `dbbackup ${altCompress}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)}, steps ${JSON.stringify(result.manifest.durationsMs)}`,
        );
        await rm(out, { recursive: true, force: true });
      },
    },
  ];
}

function rawJob(url: string, fresh: FreshDir, runs: TimedRuns): Job {
  return {
    name: "raw pg_dump + pg_restore",
    run: async () => {
      const out = fresh();
      const args = compressArgs(runs.dbbackup[0]?.compression);
      const result = await rawDumpAndRead(url, out, args);
      runs.raw.push(result);
      log(
        `raw ${args.join(" ") || "default"}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} (${stepsLine(result)})`,
      );
      await rm(out, { recursive: true, force: true });
    },
  };
}

export interface TimedOptions {
  rounds: number;
  /** A second DBBACKUP_COMPRESS to time; "" for none. */
  altCompress: string;
  /** Also time raw pg_dump + pg_restore at dbbackup's compression, and keep a backup for the rows after. */
  raw: boolean;
}

/** `rounds` rounds of every timed backup; dbbackup runs first in round one (the raw run needs its compression). */
export async function timedRuns(url: string, options: TimedOptions, fresh: FreshDir): Promise<TimedRuns> {
  const { rounds, altCompress, raw } = options;
  const runs: TimedRuns = {
    runbook: [],
    raw: [],
    floor: [],
    dbbackup: [],
    dbbackupAlt: [],
    keptBackup: undefined,
  };
  const jobs: Job[] = [
    dbbackupJob(url, fresh, runs, raw),
    runbookJob(url, fresh, runs),
    ...altCompressJobs(url, altCompress, fresh, runs),
    ...(raw ? [rawJob(url, fresh, runs)] : []),
    floorJob(url, fresh, runs),
  ];
  // Rotate the order every round so drift on a noisy machine doesn't always hit the same run.
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[(round + j) % jobs.length];
      if (!job) continue;
      globalThis.gc?.();
      await job.run();
    }
  }
  return runs;
}

/** BENCH_SURVEY: a raw pg_dump + pg_restore at each gzip level, logged against the runbook's dump size. */
export async function compressionSurvey(
  url: string,
  runbook: BaselineResult[],
  fresh: FreshDir,
): Promise<void> {
  for (const level of surveyLevels()) {
    const args = level === "default" ? [] : ["-Z", level];
    const out = fresh();
    const result = await rawDumpAndRead(url, out, args);
    const vsRunbook = ratio(result.dumpBytes, median(runbook.map((r) => r.dumpBytes)));
    log(
      `survey ${args.join(" ") || "default"}: ${seconds(result.ms)}, dump ${mebibytes(result.dumpBytes)} ` +
        `= ${vsRunbook}× the runbook's (${stepsLine(result)})`,
    );
    await rm(out, { recursive: true, force: true });
  }
}
