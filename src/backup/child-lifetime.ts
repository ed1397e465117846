import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { StateStore } from "../state/store.js";

/**
 * Children (pg_dump, pg_restore, a scratch postgres) must not outlive us: a kill -9 of dbbackup
 * would otherwise leave pg_dump running, its session and ACCESS SHARE locks with it.
 *
 * On Linux, util-linux's setpriv sets PR_SET_PDEATHSIG before it execs the real program, so the
 * kernel signals the child the moment we die, however we die. Every child is also tagged, in its
 * environment, with our instance and state, so a later start can still find and stop one that got
 * away (where setpriv is missing).
 */

export const INSTANCE_VARIABLE = "DBBACKUP_INSTANCE";
export const STATE_VARIABLE = "DBBACKUP_STATE";

let setpriv: string | null | undefined;

function findSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  if (process.platform !== "linux") return setpriv;
  const dirs = ["/usr/bin", "/bin", ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const candidate = path.join(dir, "setpriv");
    if (existsSync(candidate)) {
      setpriv = candidate;
      break;
    }
  }
  return setpriv;
}

export type DeathSignal = "KILL" | "QUIT";

export interface TiedChild {
  file: string;
  args: string[];
  /** Merge into the child's environment. */
  env: Record<string, string>;
}

/**
 * `file args` wrapped so the child dies with this process (`signal`: KILL for clients; QUIT, an
 * immediate shutdown, for a postgres server), and tagged with who started it.
 */
export function tiedToUs(
  store: StateStore,
  file: string,
  args: string[],
  signal: DeathSignal = "KILL",
): TiedChild {
  // A tag names a live instance only while its lease is renewed: otherwise a sweep would stop the child.
  store.holdLease("child processes");
  const env = { [INSTANCE_VARIABLE]: store.instance().id, [STATE_VARIABLE]: store.location };
  const wrapper = findSetpriv();
  if (!wrapper) return { file, args, env };
  return { file: wrapper, args: [`--pdeathsig=${signal}`, "--", file, ...args], env };
}

export interface TaggedProcess {
  pid: number;
  instance: string;
  command: string;
}

/** Processes on this machine (same PID namespace) started by an instance of this state; Linux only. */
export function taggedProcesses(store: StateStore): TaggedProcess[] {
  const found: TaggedProcess[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  const stateLine = `${STATE_VARIABLE}=${store.location}`;
  for (const pid of pids) {
    let environ: string[];
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    } catch {
      continue; // gone, or another user's
    }
    if (!environ.includes(stateLine)) continue;
    const instance = environ
      .find((v) => v.startsWith(`${INSTANCE_VARIABLE}=`))
      ?.slice(INSTANCE_VARIABLE.length + 1);
    if (!instance) continue;
    let command = "";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8")
        .split("\0")
        .filter(Boolean)
        .slice(0, 2)
        .join(" ");
    } catch {
      continue;
    }
    found.push({ pid: Number(pid), instance, command });
  }
  return found;
}
