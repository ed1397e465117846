/** The second dataset's rows (issue 15): the high-entropy database, backed up against the runbook and the -Z0 floor. */
import type { ScratchServer } from "../src/restore/scratch-server.js";
import type { Dataset } from "./backup-rows.js";
import { createEntropyDatabase } from "./dataset-entropy.js";
import { log, mebibytes, seconds } from "./format.js";
import { MB } from "./measure.js";
import { warmUp } from "./setup.js";
import { type FreshDir, timedRuns } from "./timed-runs.js";

/**
 * Create the high-entropy database beside the first on the same server, warm it up, then time
 * dbbackup, the runbook's script and the floor in `rounds` rounds. Only the backup rows: the rest
 * of the bench (restore, Slack, list, off-site, workers) doesn't depend on what the rows hold.
 */
export async function entropyDataset(
  server: ScratchServer,
  targetBytes: number,
  rounds: number,
  fresh: FreshDir,
): Promise<Dataset> {
  const url = server.url("bench_entropy");
  log(`creating the high-entropy database (target ${(targetBytes / MB).toFixed(0)} MB)`);
  const db = await createEntropyDatabase(url, targetBytes, log);
  log(`high-entropy database ${mebibytes(db.databaseBytes)}, ${db.rows} rows in ${seconds(db.ms)}`);
  await warmUp(url);
  const timed = await timedRuns(url, { rounds, altCompress: "", raw: false }, fresh);
  return { prefix: `high-entropy ${mebibytes(db.databaseBytes)}: `, timed, altCompress: "" };
}
