import path from "node:path";
import type { StateStore } from "../state/store.js";
import { tiedToUs } from "./child-lifetime.js";
import type { ChildFailure } from "./dump-errors.js";

export interface PgProcessOptions {
  env: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Each stderr line as it arrives (progress parsing, the run's log). */
  onStderrLine?: (line: string) => void;
  /** Capture stdout (pg_restore --list); otherwise it is discarded. */
  captureStdout?: boolean;
  /** The state of the run: the child dies with this process and carries its instance's tag. */
  owner?: StateStore;
}

export interface PgProcessResult {
  ok: true;
  stdout: string;
  ms: number;
}

const STDERR_TAIL = 64 * 1024;

/**
 * Runs pg_dump/pg_restore with no shell and a clean environment. Its output files are written by
 * the child itself: dump bytes never pass through this process.
 */
export async function runPgProcess(
  binary: string,
  args: string[],
  options: PgProcessOptions,
): Promise<PgProcessResult | ({ ok: false } & ChildFailure)> {
  const started = performance.now();
  const spawn = options.owner
    ? tiedToUs(options.owner, binary, args)
    : { file: binary, args, env: {} as Record<string, string> };
  // Loaded on first use (~0.1 s of modules): by then findPgTools has loaded it beside other work.
  const { execa } = await import("execa");
  const child = execa(spawn.file, spawn.args, {
    env: { ...options.env, ...spawn.env, LC_MESSAGES: "C", PATH: process.env.PATH ?? "/usr/bin:/bin" },
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    stdout: options.captureStdout ? "pipe" : "ignore",
    stderr: "pipe",
    buffer: { stdout: options.captureStdout === true, stderr: false },
    maxBuffer: { stdout: 256 * 1024 * 1024 },
    encoding: "utf8",
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    forceKillAfterDelay: 5_000,
  });
  let stderrTail = "";
  let pending = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL);
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) options.onStderrLine?.(line);
  });
  const result = await child;
  if (pending) options.onStderrLine?.(pending);
  if (result.exitCode === 0 && !result.isTerminated && !result.isCanceled) {
    return {
      ok: true,
      stdout: typeof result.stdout === "string" ? result.stdout : "",
      ms: performance.now() - started,
    };
  }
  return {
    ok: false,
    tool: path.basename(binary),
    exitCode: result.exitCode,
    signal: result.signal,
    stderr: stderrTail,
    cancelled: result.isCanceled === true,
    ms: performance.now() - started,
  };
}
