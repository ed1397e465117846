import os from "node:os";
import { runPgProcess } from "../backup/pg-process.js";
import type { StateStore } from "../state/store.js";
import { parseRestoreErrors, type RestoreError } from "./restore-errors.js";

export interface PgRestoreRun {
  pgRestore: string;
  dump: string;
  /** A connection string with no password in it (argv), and the environment carrying the rest. */
  conninfo: string;
  env: Record<string, string>;
  /** In place: drop what the archive holds before creating it. */
  clean?: boolean;
  /** Parallel jobs (default: the cores). */
  jobs?: number | undefined;
  signal?: AbortSignal | undefined;
  owner: StateStore;
  /** A pg_restore --list file naming what to restore (the rest commented out). */
  useList?: string | undefined;
  /** Rows go into tables that have triggers and keys already: pause them while they load. */
  pauseTriggers?: boolean | undefined;
  /** Tables restored so far (pg_restore runs --verbose for this, its chatter kept out of the errors). */
  onTables?: (tablesDone: number) => void;
}

export type PgRestoreEnd =
  | { stopped: false; errors: RestoreError[] }
  | { stopped: "cancelled" }
  | { stopped: "killed"; signal: string };

const VERBOSE =
  /^pg_restore: (creating|processing|launching|finished|connecting|dropping|executing|entering|setting|implied|disabling|enabling|reducing|skipping)\b/;

/** pg_restore with the runbook's flags (--no-owner --no-privileges, -j): how it ended, its errors parsed. */
export async function runPgRestore(run: PgRestoreRun): Promise<PgRestoreEnd> {
  const jobs = run.jobs ?? Math.max(1, os.availableParallelism());
  const kept: string[] = [];
  let tablesDone = 0;
  const onTables = run.onTables;
  const result = await runPgProcess(
    run.pgRestore,
    [
      ...(run.clean ? ["--clean", "--if-exists"] : []),
      ...(run.useList ? [`--use-list=${run.useList}`] : []),
      "--no-owner",
      "--no-privileges",
      ...(onTables ? ["--verbose"] : []),
      `--jobs=${jobs}`,
      `--dbname=${run.conninfo}`,
      run.dump,
    ],
    {
      // Every connection pg_restore opens (one per job) starts with it.
      env: run.pauseTriggers ? { ...run.env, PGOPTIONS: "-c session_replication_role=replica" } : run.env,
      signal: run.signal,
      owner: run.owner,
      ...(onTables
        ? {
            onStderrLine: (line: string) => {
              if (!VERBOSE.test(line)) kept.push(line);
              if (!/processing data for table|finished item \d+ TABLE DATA/.test(line)) return;
              if (/finished item/.test(line) || jobs === 1) tablesDone++;
              onTables(tablesDone);
            },
          }
        : {}),
    },
  );
  if (!result.ok && (result.cancelled || run.signal?.aborted)) return { stopped: "cancelled" };
  if (!result.ok && result.signal) return { stopped: "killed", signal: result.signal };
  if (result.ok) return { stopped: false, errors: [] };
  return { stopped: false, errors: parseRestoreErrors(onTables ? kept.join("\n") : result.stderr) };
}
