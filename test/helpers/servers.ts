import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

/** Holds a lock on a table in an open transaction (a migration mid-flight) until released. */
export async function holdLock(
  url: string,
  table: string,
  mode = "access exclusive",
): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  await client.query("begin");
  await client.query(`lock table ${table} in ${mode} mode`);
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        await client.query("rollback").catch(() => {});
        await client.end().catch(() => {});
      })();
      return released;
    },
  };
}

/** Polls `probe` every 25 ms until it returns a value; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface ProcessInfo {
  pid: number;
  argv: string[];
}

/** Running processes whose argv[0] ends with `name`, with their pids (from /proc). */
export function processesOf(name: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (argv[0]?.endsWith(name)) found.push({ pid: Number(entry), argv });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export interface Tmpfs {
  dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `megabytes` on a fresh temp folder; throws (with mount's words) if we may not. */
export function mountTmpfs(megabytes: number): Tmpfs {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m,mode=0755`, "tmpfs", dir], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 10_000,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let mounted = true;
  return {
    dir,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync("umount", [dir], { stdio: "ignore", timeout: 10_000 });
      } catch {
        execFileSync("umount", ["-l", dir], { stdio: "ignore", timeout: 10_000 });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN): tried once, then undone. */
export function tmpfsUnavailableReason(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return "not root: mounting a tmpfs needs root";
  }
  try {
    mountTmpfs(1).unmount();
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs failed: ${stderr || (error instanceof Error ? error.message : String(error))}`;
  }
}

/** Like waitFor, for an async probe (e.g. a query); polls every 50 ms. */
export async function waitForAsync<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** dbbackup's sessions (application_name dbbackup:<job>) on the server of `url` now waiting on a lock. */
export async function dbbackupWaitingOnLocks(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const r = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where application_name like 'dbbackup:%' and wait_event_type = 'Lock'",
    );
    return r.rows[0]?.n ?? 0;
  } finally {
    await client.end().catch(() => {});
  }
}
