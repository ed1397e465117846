/**
 * The off-site bench's S3-compatible server, in a process of its own so its memory and CPU are not
 * counted as the copy's: the test suite's s3rver on 127.0.0.1 over a temp folder (under TMPDIR, which
 * startBenchS3 points into the bench's work folder). The child (this file run with --serve) reports
 * where it listens over IPC, and removes its folder and exits when the bench disconnects, dies, or
 * signals it.
 */
import { fork } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface BenchS3 {
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** s3rver in a child process, its folder under `dir`; stop() ends it and removes that folder. */
export async function startBenchS3(dir: string): Promise<BenchS3> {
  const tmp = path.join(dir, "s3");
  await mkdir(tmp, { recursive: true });
  const child = fork(path.join(here, "offsite-s3.ts"), ["--serve"], {
    cwd: path.resolve(here, ".."),
    execArgv: ["--import", "tsx"],
    env: { ...process.env, TMPDIR: tmp },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.connected) child.disconnect();
    if (!(await within(exited, 15_000))) child.kill("SIGTERM");
    if (!(await within(exited, 5_000))) child.kill("SIGKILL");
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const ready = new Promise<Omit<BenchS3, "stop">>((resolve, reject) => {
      child.once("message", (m) => resolve(m as Omit<BenchS3, "stop">));
      child.once("exit", (code) => reject(new Error(`the bench's s3rver exited ${code} before it listened`)));
    });
    const info = await within(ready, 30_000);
    if (!info) throw new Error("the bench's s3rver did not start within 30 s");
    return { ...info, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
  } finally {
    timer.abort();
  }
}

async function serve(): Promise<void> {
  // Imported here: the bench process itself never loads s3rver.
  const { startS3Server } = await import("../test/helpers/s3-server.js");
  const server = await startS3Server("dbbackup-bench");
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.remove().finally(() => process.exit(0));
  };
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (!process.send || !process.connected) stop();
  else process.send({ endpoint: server.endpoint, bucket: server.bucket, env: server.env("bench") });
}

if (process.argv.includes("--serve")) await serve();
