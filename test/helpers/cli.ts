import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = path.join(REPO, "bin", "dbbackup.js");
export const SHIM = path.join(REPO, "scripts", "backup_db.sh");

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** Variables for this run only; PATH and HOME come from the test process, nothing else does. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    USER: "tester",
    NO_COLOR: "1",
    ...extra,
  };
}

function spawn(file: string, args: string[], options: CliOptions) {
  return execa(file, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: options.timeoutMs ?? 120_000,
  });
}

/** Starts the real CLI (`node bin/dbbackup.js …`) without waiting: for kill and concurrency tests. */
export function startCli(args: string[], options: CliOptions) {
  return spawn("node", [BIN, ...args], options);
}

export async function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  const r = await startCli(args, options);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function runShim(args: string[], options: CliOptions): Promise<CliResult> {
  const r = await spawn("bash", [SHIM, ...args], options);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A working folder with a `.env`, removed by the returned function. */
export function workdir(dotenv: Record<string, string> = {}): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-test-"));
  const lines = Object.entries(dotenv).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(path.join(dir, ".env"), `${lines.join("\n")}\n`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Command lines of running processes whose argv[0] ends with `name` (from /proc). */
export function commandLinesOf(name: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith(name)) found.push(argv.join(" "));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
