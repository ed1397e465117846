/**
 * One timed job of the off-site bench in a fresh process: copyOffsite() or the direct way. A process
 * of its own, because RSS never goes back down: memory the allocator kept from an earlier run (the
 * bench's dataset, a previous round, the baseline) would be reused and hide what the copy needs,
 * measured in the bench process the "idle" before the copy rose from 103 to 163 MB over five rounds.
 * Both ways get the same fresh process and the same warm-up; only the job itself is timed and sampled.
 */
import { fork } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config.js";
import { copyOffsite } from "../src/offsite/copy.js";
import { s3Client } from "../src/offsite/s3-client.js";
import { directEncryptUpload, emptyPrefix } from "./offsite-direct.js";
import { within } from "./offsite-s3.js";

const here = path.dirname(fileURLToPath(import.meta.url));

export type Job = {
  /** A folder with no .env: the job's cwd. */
  cwd: string;
  /** The settings loadConfig reads (DBBACKUP_DIR, the off-site keys, the recipient). */
  env: Record<string, string>;
  /** A small file encrypted and uploaded once before the timing, by both ways alike. */
  warmFile: string;
} & ({ kind: "copy"; id: string } | { kind: "direct"; files: { file: string; key: string }[] });

export interface JobResult {
  ms: number;
  idleRssBytes: number;
  peakRssBytes: number;
  bytes: number;
  files: number;
  proof: string;
  already: boolean;
}

type Reply = { result: JobResult } | { error: string };

/** `fn`'s value, with this process's RSS just before it (after a GC) and the largest seen every 20 ms. */
export async function withRss<T>(fn: () => Promise<T>): Promise<{ value: T; idle: number; peak: number }> {
  globalThis.gc?.();
  await sleep(100);
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const value = await fn();
    return { value, idle, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `job` in a fresh process (this file with --job) and returns what it measured. Bounded. */
export async function runJob(job: Job, timeoutMs = 60 * 60 * 1000): Promise<JobResult> {
  const child = fork(path.join(here, "offsite-run.ts"), ["--job"], {
    cwd: path.resolve(here, ".."),
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const answer = new Promise<Reply>((resolve, reject) => {
      child.once("message", (m) => resolve(m as Reply));
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`the off-site ${job.kind} job exited ${code}`)));
    });
    child.send(job);
    const reply = await within(answer, timeoutMs);
    if (!reply) throw new Error(`the off-site ${job.kind} job took over ${timeoutMs / 1000} s`);
    if ("error" in reply) throw new Error(`the off-site ${job.kind} job failed: ${reply.error}`);
    return reply.result;
  } finally {
    if (child.connected) child.disconnect();
    if (!(await within(exited, 10_000))) {
      child.kill("SIGKILL");
      await within(exited, 5_000);
    }
  }
}

/** In the child: the job, after a warm-up that loads what the SDK and age load on first use. */
async function perform(job: Job): Promise<JobResult> {
  const config = loadConfig({ cwd: job.cwd, env: job.env, noEnvFile: true });
  const settings = config.offsite;
  const recipient = settings?.recipients[0];
  if (!settings || !recipient) throw new Error("the job's settings name no off-site bucket or recipient");
  const client = s3Client(settings);
  try {
    const warmKey = `warm-up/${job.kind}-${process.pid}.age`;
    await directEncryptUpload(client, settings.bucket, [{ file: job.warmFile, key: warmKey }], recipient);
    await emptyPrefix(client, settings.bucket, warmKey);
    const measured = await withRss(async () => {
      const started = performance.now();
      if (job.kind === "copy") {
        const copy = await copyOffsite(config, job.id, { requestedBy: "bench" });
        const { bytes, files, proof } = copy;
        return { ms: performance.now() - started, bytes, files, proof, already: copy.already === true };
      }
      const bytes = await directEncryptUpload(client, settings.bucket, job.files, recipient);
      return {
        ms: performance.now() - started,
        bytes,
        files: job.files.length,
        proof: "none",
        already: false,
      };
    });
    return { ...measured.value, idleRssBytes: measured.idle, peakRssBytes: measured.peak };
  } finally {
    client.destroy();
  }
}

if (process.argv.includes("--job")) {
  process.once("disconnect", () => process.exit(0));
  process.once("message", (job) => {
    void perform(job as Job)
      .then(
        (result): Reply => ({ result }),
        (error: unknown): Reply => ({
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
      )
      .then((reply) => process.send?.(reply));
  });
}
