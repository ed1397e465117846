/** The dbbackup CLI as the bench runs it: one real backup to stage 2, and the idle process for comparison. */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { manifestSchema } from "../src/backup/manifest.js";
import { measureCommand } from "./measure.js";

/** The repository root: bench/ (run by tsx) sits below it. */
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = [path.resolve(here, ".."), path.resolve(here, "../..")].find((dir) =>
  existsSync(path.join(dir, "package.json")),
);
export const cliPath = path.join(repoRoot ?? process.cwd(), "bin", "dbbackup.js");

// ---------------------------------------------------------------------------------------------
// DBBACKUP SLOTS. The lead wires these to the CLI; each returns undefined while it can't run, and
// the table then shows n/a. Expected CLI: `node bin/dbbackup.js backup --url <url> bench --json`
// with DBBACKUP_DIR=<tmp>, which leaves exactly one backup folder with db_full.dump in it.
// ---------------------------------------------------------------------------------------------

export interface DbbackupRun {
  /** Wall-clock ms from spawn to exit (stage 2 passed). */
  ms: number;
  dumpBytes: number;
  peakRssBytes: number;
  /** The real manifest it wrote: the template of the 1,000 backups `list` reads. */
  manifest: Record<string, unknown>;
  compression: string;
  /** How dbbackup chose it, from the manifest: sample, setting or default, and why. */
  chosenBy: string;
  why: string;
}

/** One real backup of `url` to stage 2 through the CLI, timed, with the CLI process's peak RSS. */
export async function dbbackupBackup(
  url: string,
  backupsDir: string,
  compress?: string,
): Promise<DbbackupRun> {
  const run = await measureCommand(process.execPath, [cliPath, "backup", "--url", url, "bench", "--json"], {
    cwd: repoRoot,
    env: {
      DBBACKUP_DIR: backupsDir,
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ...(compress ? { DBBACKUP_COMPRESS: compress } : {}),
    },
  });
  if (run.exitCode !== 0) {
    throw new Error(
      `dbbackup backup exited ${run.exitCode}: ${run.stdout.trim().slice(-400)} ${run.stderr.trim().slice(-400)}`,
    );
  }
  const folders = (await readdir(backupsDir, { withFileTypes: true })).filter(
    (d) => d.isDirectory() && !d.name.startsWith("."),
  );
  const [folder] = folders;
  if (folders.length !== 1 || !folder) throw new Error(`expected one backup folder in ${backupsDir}`);
  const dir = path.join(backupsDir, folder.name);
  const dumpBytes = (await stat(path.join(dir, "db_full.dump"))).size;
  const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const compression = typeof manifest.compression === "string" ? manifest.compression : "?";
  const choice = manifestSchema.shape.compressionChoice.safeParse(manifest.compressionChoice).data;
  return {
    ms: run.ms,
    dumpBytes,
    peakRssBytes: run.rss.peakBytes,
    manifest,
    compression,
    chosenBy: choice?.chosenBy ?? "?",
    why: choice?.why ?? "?",
  };
}

/**
 * Idle: the CLI with the backup verb's modules (pg, execa, zod) loaded, refusing at once because no
 * URL is configured — the same process doing no work.
 */
export async function dbbackupIdleRss(): Promise<number | undefined> {
  const empty = await mkdtemp(path.join(os.tmpdir(), "dbbackup-idle-"));
  try {
    const run = await measureCommand(process.execPath, [cliPath, "backup", "idle", "--json"], {
      cwd: empty,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    return run.stdout.includes('"no_url"') ? run.rss.peakBytes : undefined;
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}
