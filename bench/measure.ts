/** Measuring helpers for the bench: wall-clock time, peak RSS of a child, fake backup folders. */
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type Options } from "execa";

export const MB = 1024 * 1024;

/** Run `fn` and report how long it took, in milliseconds of wall-clock time. */
export async function timeIt<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export interface RssSample {
  /** Largest VmHWM seen (the kernel's own peak of the resident set), in bytes. */
  peakBytes: number;
  /** Largest VmRSS seen across polls, in bytes (a lower bound for the peak). */
  maxRssBytes: number;
  samples: number;
  /** False when the deadline passed before the process exited. */
  exited: boolean;
}

function kib(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return match?.[1] ? Number(match[1]) * 1024 : undefined;
}

/**
 * Poll /proc/<pid>/status until the process exits (or becomes a zombie, which has no memory
 * lines), keeping the largest VmHWM and VmRSS seen. VmHWM is the kernel's own high-water mark, so
 * the last sample before exit holds the true peak even between polls. Bounded by `timeoutMs`.
 * Covers that one process only, not its children.
 */
export async function peakRss(
  pid: number,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<RssSample> {
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + (options.timeoutMs ?? 60 * 60 * 1000);
  const result: RssSample = { peakBytes: 0, maxRssBytes: 0, samples: 0, exited: false };
  while (Date.now() < deadline) {
    let status: string;
    try {
      status = await readFile(`/proc/${pid}/status`, "utf8");
    } catch {
      result.exited = true;
      return result;
    }
    const hwm = kib(status, "VmHWM");
    const rss = kib(status, "VmRSS");
    if (hwm === undefined || rss === undefined) {
      result.exited = true; // zombie: exited, not yet reaped
      return result;
    }
    result.samples++;
    result.peakBytes = Math.max(result.peakBytes, hwm);
    result.maxRssBytes = Math.max(result.maxRssBytes, rss);
    await sleep(intervalMs);
  }
  return result;
}

export interface MeasuredRun {
  ms: number;
  rss: RssSample;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion, timing it and polling its peak RSS. Never throws on a non-zero
 * exit (look at exitCode); `timeoutMs` kills it if it runs too long.
 */
export async function measureCommand(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<MeasuredRun> {
  const timeoutMs = options.timeoutMs ?? 60 * 60 * 1000;
  const execaOptions: Options = {
    cwd: options.cwd,
    env: options.env,
    reject: false,
    stdin: "ignore",
    timeout: timeoutMs,
  };
  const started = performance.now();
  const child = execa(file, args, execaOptions);
  const rssPromise =
    child.pid === undefined
      ? Promise.resolve<RssSample>({ peakBytes: 0, maxRssBytes: 0, samples: 0, exited: true })
      : peakRss(child.pid, { timeoutMs: timeoutMs + 5_000 });
  const result = await child;
  const ms = performance.now() - started;
  const rss = await rssPromise;
  return {
    ms,
    rss,
    exitCode: result.exitCode,
    stdout: typeof result.stdout === "string" ? result.stdout : "",
    stderr: typeof result.stderr === "string" ? result.stderr : "",
  };
}

/** One fake backup folder: its id (the folder name) and the manifest.json to write in it. */
export interface FakeBackup {
  id: string;
  manifest: unknown;
  /** Size of the (sparse) db_full.dump; default 0. Nothing of it is written to disk. */
  dumpBytes?: number;
}

/**
 * `YYYYMMDD_HHMMSS_<env>[_label]` for backup `i`, counting back 6 hours a backup from a fixed
 * moment, so ids are distinct, deterministic and sort newest first by i.
 */
export function fakeBackupId(
  i: number,
  env: string,
  label?: string,
  newest = Date.UTC(2025, 5, 30, 12),
): string {
  const at = new Date(newest - i * 6 * 3600 * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const stamp =
    `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_` +
    `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return label ? `${stamp}_${env}_${label}` : `${stamp}_${env}`;
}

const COMPANIONS: Record<string, string> = {
  "schema.sql": "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n",
  "version.txt": "PostgreSQL 15.8 on aarch64-unknown-linux-gnu, compiled by gcc (GCC) 13.2.0, 64-bit\n",
  "extensions.tsv": "name\tversion\tschema\npgcrypto\t1.3\textensions\nplpgsql\t1.0\tpg_catalog\n",
  "views_reloptions.tsv": "public\tmy_documents\t{security_invoker=true}\npublic\tcustomer_order_totals\t\n",
};

/**
 * Write `n` backup folders under `root` as a finished run leaves them: manifest.json (from
 * `make(i)`), a sparse db_full.dump of the stated size, and the four small companions. Returns the
 * folder paths. Bounded: exactly n folders, written a batch at a time.
 */
export async function makeFakeBackups(
  root: string,
  n: number,
  make: (i: number) => FakeBackup,
): Promise<string[]> {
  await mkdir(root, { recursive: true });
  const dirs: string[] = [];
  const batch = 50;
  for (let start = 0; start < n; start += batch) {
    const jobs: Promise<void>[] = [];
    for (let i = start; i < Math.min(n, start + batch); i++) {
      const backup = make(i);
      const dir = path.join(root, backup.id);
      dirs.push(dir);
      jobs.push(
        (async () => {
          await mkdir(dir);
          await writeFile(path.join(dir, "manifest.json"), `${JSON.stringify(backup.manifest, null, 2)}\n`);
          const dump = await open(path.join(dir, "db_full.dump"), "w");
          try {
            await dump.truncate(backup.dumpBytes ?? 0);
          } finally {
            await dump.close();
          }
          for (const [name, text] of Object.entries(COMPANIONS)) await writeFile(path.join(dir, name), text);
        })(),
      );
    }
    await Promise.all(jobs);
  }
  return dirs;
}
