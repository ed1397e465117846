/**
 * What dbbackup is measured against:
 * - the runbook's script as a person runs it today: one step after another, pg_dump -Fc with its
 *   default compression, then pg_dump -s, then psql three times;
 * - raw pg_dump -Fc at a given compression followed by reading every block back with
 *   `pg_restore -f /dev/null`: the floor for "dumped and verified readable" at that compression;
 * - `pg_dump -Fc -Z0` to a file: the floor of any backup (nothing compressed, nothing read back).
 * Binaries are found on PATH (as the runbook's script would) unless `binDir` is given.
 */
import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

export interface BaselineOptions {
  /** Directory holding pg_dump, pg_restore and psql; default: whatever PATH finds. */
  binDir?: string;
  /** Kill a step that runs longer than this; default 1 hour. */
  timeoutMs?: number;
}

export interface StepTiming {
  step: string;
  ms: number;
}

export interface BaselineResult {
  /** Wall-clock milliseconds for the whole sequence. */
  ms: number;
  /** Size of db_full.dump in bytes. */
  dumpBytes: number;
  steps: StepTiming[];
}

const EXTENSIONS_SQL =
  "SELECT extname AS name, extversion AS version, extnamespace::regnamespace AS schema FROM pg_extension ORDER BY 1";
const VIEWS_SQL = `SELECT n.nspname, c.relname, coalesce(array_to_string(c.reloptions, ','), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'v' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`;

function tool(name: string, options: BaselineOptions): string {
  return options.binDir ? path.join(options.binDir, name) : name;
}

async function step(steps: StepTiming[], name: string, run: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await run();
  steps.push({ step: name, ms: performance.now() - started });
}

/**
 * The runbook's backup, sequentially, into `outDir`: db_full.dump (pg_dump -Fc, default
 * compression), schema.sql (pg_dump -s), version.txt, extensions.tsv, views_reloptions.tsv.
 */
export async function runbookScript(
  url: string,
  outDir: string,
  options: BaselineOptions = {},
): Promise<BaselineResult> {
  const timeout = options.timeoutMs ?? 60 * 60 * 1000;
  const run = { stdin: "ignore", timeout } as const;
  await mkdir(outDir, { recursive: true });
  const dump = path.join(outDir, "db_full.dump");
  const steps: StepTiming[] = [];
  const started = performance.now();
  await step(steps, "pg_dump -Fc", () => execa(tool("pg_dump", options), ["-Fc", "-f", dump, url], run));
  await step(steps, "pg_dump -s", () =>
    execa(tool("pg_dump", options), ["-s", "-f", path.join(outDir, "schema.sql"), url], run),
  );
  await step(steps, "psql version", () =>
    execa(tool("psql", options), [url, "-X", "-A", "-t", "-c", "select version()"], {
      ...run,
      stdout: { file: path.join(outDir, "version.txt") },
    }),
  );
  await step(steps, "psql extensions", () =>
    execa(tool("psql", options), [url, "-X", "-A", "-F", "\t", "-P", "footer=off", "-c", EXTENSIONS_SQL], {
      ...run,
      stdout: { file: path.join(outDir, "extensions.tsv") },
    }),
  );
  await step(steps, "psql views", () =>
    execa(tool("psql", options), [url, "-X", "-A", "-t", "-F", "\t", "-c", VIEWS_SQL], {
      ...run,
      stdout: { file: path.join(outDir, "views_reloptions.tsv") },
    }),
  );
  const ms = performance.now() - started;
  return { ms, dumpBytes: (await stat(dump)).size, steps };
}

/**
 * Raw `pg_dump -Fc <compressArgs> -f db_full.dump` then `pg_restore -f /dev/null db_full.dump`
 * (every data block decompressed and read), sequentially, into `outDir`.
 * `compressArgs` as pg_dump 15 takes them, e.g. `["-Z", "1"]`; `[]` for the default.
 */
export async function rawDumpAndRead(
  url: string,
  outDir: string,
  compressArgs: readonly string[],
  options: BaselineOptions = {},
): Promise<BaselineResult> {
  const timeout = options.timeoutMs ?? 60 * 60 * 1000;
  const run = { stdin: "ignore", timeout } as const;
  await mkdir(outDir, { recursive: true });
  const dump = path.join(outDir, "db_full.dump");
  const steps: StepTiming[] = [];
  const started = performance.now();
  await step(steps, `pg_dump -Fc ${compressArgs.join(" ")}`.trim(), () =>
    execa(tool("pg_dump", options), ["-Fc", ...compressArgs, "-f", dump, url], run),
  );
  await step(steps, "pg_restore -f /dev/null", () =>
    execa(tool("pg_restore", options), ["-f", "/dev/null", dump], run),
  );
  const ms = performance.now() - started;
  return { ms, dumpBytes: (await stat(dump)).size, steps };
}

/**
 * `pg_dump -Fc -Z0 -f db_full.dump` alone: the floor of any verified backup on this machine (the
 * server sends every row, nothing is compressed or read back). dbbackup's wall over it is how far
 * it is from the limit.
 */
export async function dumpFloor(
  url: string,
  outDir: string,
  options: BaselineOptions = {},
): Promise<BaselineResult> {
  const run = { stdin: "ignore", timeout: options.timeoutMs ?? 60 * 60 * 1000 } as const;
  await mkdir(outDir, { recursive: true });
  const dump = path.join(outDir, "db_full.dump");
  const steps: StepTiming[] = [];
  const started = performance.now();
  await step(steps, "pg_dump -Fc -Z0", () =>
    execa(tool("pg_dump", options), ["-Fc", "-Z0", "-f", dump, url], run),
  );
  return { ms: performance.now() - started, dumpBytes: (await stat(dump)).size, steps };
}
