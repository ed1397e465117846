import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { BIN } from "./cli.js";
import { sql } from "./postgres.js";
import { type ProcessInfo, processesOf } from "./servers.js";

/** pg_dump processes (anyone's) connected to the server on `port`: our own runs' children. */
export function pgDumpsOf(port: number): ProcessInfo[] {
  return processesOf("pg_dump").filter((p) => p.argv.some((a) => a.includes(`:${port}/`)));
}

export interface SessionRow {
  pid: number;
  app: string;
  state: string | null;
  query: string;
}

/** Server sessions named like dbbackup's runs (application_name dbbackup:<job id>). */
export function dbbackupSessions(url: string): Promise<SessionRow[]> {
  return sql<SessionRow>(
    url,
    `select pid, application_name as app, state, left(query, 80) as query
       from pg_stat_activity where application_name like 'dbbackup:%' and pid <> pg_backend_pid()`,
  );
}

export interface SecretScan {
  /** Files whose first `maxBytesPerFile` bytes hold the secret. */
  hits: string[];
  /** Regular files read. */
  files: number;
}

/**
 * Every regular file under `roots` (symlinks never followed; sockets, fifos and devices never opened)
 * whose first `maxBytesPerFile` bytes contain `secret`. Bounded: throws after `maxEntries` entries
 * rather than scan forever or silently stop halfway. Files in `skip` (absolute paths) are not read.
 */
export function filesContaining(
  roots: string[],
  secret: string,
  options: { skip?: string[]; maxBytesPerFile?: number; maxEntries?: number } = {},
): SecretScan {
  const skip = new Set(options.skip ?? []);
  const maxBytes = options.maxBytesPerFile ?? 16 * 1024 * 1024;
  const maxEntries = options.maxEntries ?? 200_000;
  const needle = Buffer.from(secret);
  const buffer = Buffer.alloc(maxBytes);
  const hits = new Set<string>();
  const seen = new Set<string>();
  let entries = 0;
  let files = 0;
  const stack = roots.filter((r) => existsSync(r));
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (seen.has(current)) continue;
    seen.add(current);
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      continue; // removed meanwhile, or not a folder we may read
    }
    for (const name of names) {
      entries += 1;
      if (entries > maxEntries) {
        throw new Error(`more than ${maxEntries} entries under ${roots.join(", ")}: scan refused`);
      }
      const file = path.join(current, name);
      let stats: ReturnType<typeof lstatSync>;
      try {
        stats = lstatSync(file);
      } catch {
        continue;
      }
      if (stats.isDirectory()) {
        stack.push(file);
        continue;
      }
      if (!stats.isFile() || skip.has(file)) continue;
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch {
        continue;
      }
      try {
        const n = readSync(fd, buffer, 0, maxBytes, 0);
        files += 1;
        if (buffer.subarray(0, n).includes(needle)) hits.add(file);
      } catch {
        // gone or unreadable meanwhile
      } finally {
        closeSync(fd);
      }
    }
  }
  return { hits: [...hits].sort(), files };
}

/** A shell word: 'it''s' quoting for sh -c. */
function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The real CLI as PID 1 of a fresh PID, UTS and mount namespace (its own /proc), under another
 * hostname: what a container looks like to the state layer. `--kill-child` takes the namespace down
 * if unshare itself is killed (clean-up); killing the CLI (PID 1) takes it down too.
 */
export function startCliInNamespace(
  hostname: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number },
) {
  const command = `hostname ${shellWord(hostname)} && exec ${shellWord(process.execPath)} ${[BIN, ...args].map(shellWord).join(" ")}`;
  return execa("unshare", ["--pid", "--fork", "--kill-child", "--uts", "--mount-proc", "sh", "-c", command], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      USER: "tester",
      NO_COLOR: "1",
      ...options.env,
    },
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    timeout: options.timeoutMs,
  });
}

function statusField(pid: number, field: string): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line?.slice(field.length + 1).trim();
  } catch {
    return undefined;
  }
}

/**
 * Host pids of CLI processes (`node <BIN> …`) whose working folder is `cwd`. `nsInit`: only those that
 * are PID 1 of a namespace of their own (NSpid: <host pid> 1).
 */
export function cliProcessesIn(cwd: string, filter: { nsInit?: boolean; arg?: string } = {}): number[] {
  const real = realpathSync(cwd);
  return processesOf("node")
    .filter((p) => p.argv.includes(BIN) && (filter.arg === undefined || p.argv.includes(filter.arg)))
    .filter((p) => {
      try {
        if (readlinkSync(`/proc/${p.pid}/cwd`) !== real) return false;
      } catch {
        return false;
      }
      if (!filter.nsInit) return true;
      const nspid = statusField(p.pid, "NSpid")?.split(/\s+/) ?? [];
      return nspid.length >= 2 && nspid.at(-1) === "1";
    })
    .map((p) => p.pid);
}

/** SIGKILL to every CLI process still running in `cwd` (ours: started by the test). */
export function killCliProcessesIn(cwd: string): number[] {
  if (!existsSync(cwd)) return [];
  const pids = cliProcessesIn(cwd);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Size of `file`, or 0 when it isn't there (yet, or any more). */
export function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Fills the filesystem holding `dir` until it refuses (ENOSPC): one file, written in shrinking chunks
 * down to a byte, so not even the last page has room for another file. Returns the bytes written.
 */
export function fillDisk(dir: string, maxBytes = 512 * 1024 * 1024): number {
  const fd = openSync(path.join(dir, "filler.bin"), "w");
  let written = 0;
  try {
    for (const chunk of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 1]) {
      const data = Buffer.alloc(chunk, 0x61);
      for (;;) {
        if (written >= maxBytes) throw new Error(`wrote ${written} bytes to ${dir} and it is still not full`);
        try {
          written += writeSync(fd, data);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
