import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";

export interface PgTools {
  pgDump: string;
  pgRestore: string;
  /** "15.18" */
  version: string;
  major: number;
  warnings: string[];
}

interface Candidate {
  dir: string;
  version: string;
  major: number;
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → { version: "15.18", major: 15 } */
export function parseClientVersion(output: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!match?.[1]) return undefined;
  return { version: match[2] ? `${match[1]}.${match[2]}` : match[1], major: Number(match[1]) };
}

function pathDirs(): string[] {
  return (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
}

function candidateDirs(serverMajor: number, pgBinDir: string | undefined): string[] {
  const dirs: string[] = [];
  if (pgBinDir) dirs.push(pgBinDir);
  dirs.push(`/usr/lib/postgresql/${serverMajor}/bin`);
  try {
    const majors = readdirSync("/usr/lib/postgresql")
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(a) - Number(b));
    for (const m of majors) dirs.push(`/usr/lib/postgresql/${m}/bin`);
  } catch {
    // no Debian-style install
  }
  dirs.push(...pathDirs());
  return [...new Set(dirs)].filter(
    (d) => existsSync(path.join(d, "pg_dump")) && existsSync(path.join(d, "pg_restore")),
  );
}

const versionCache = new Map<string, Candidate | undefined>();

async function probe(dir: string): Promise<Candidate | undefined> {
  if (versionCache.has(dir)) return versionCache.get(dir);
  let found: Candidate | undefined;
  try {
    // Loaded on first use: a restore's start-up then loads it beside the target's inspection.
    const { execa } = await import("execa");
    const { stdout } = await execa(path.join(dir, "pg_dump"), ["--version"], { timeout: 10_000 });
    const parsed = parseClientVersion(stdout);
    if (parsed) found = { dir, ...parsed };
  } catch {
    found = undefined;
  }
  versionCache.set(dir, found);
  return found;
}

/**
 * The pg_dump/pg_restore pair for a server major: same major preferred (a newer pg_dump writes
 * archives an older pg_restore can't read, and pg_dump refuses newer servers outright).
 */
export async function findPgTools(
  serverMajor: number,
  serverVersion: string,
  pgBinDir?: string,
): Promise<PgTools> {
  const dirs = candidateDirs(serverMajor, pgBinDir);
  // The first dir is the likeliest match (PG_BIN_DIR, then the server's major): when it is one, the
  // rest (Debian's pg_wrapper is a Perl script, ~0.1 s a run) need no probe.
  const first = dirs[0] === undefined ? undefined : await probe(dirs[0]);
  const rest = first?.major === serverMajor ? [] : await Promise.all(dirs.slice(1).map(probe));
  const candidates = [first, ...rest].filter((c): c is Candidate => c !== undefined);
  const tools = (c: Candidate, warnings: string[]): PgTools => ({
    pgDump: path.join(c.dir, "pg_dump"),
    pgRestore: path.join(c.dir, "pg_restore"),
    version: c.version,
    major: c.major,
    warnings,
  });
  const same = candidates.find((c) => c.major === serverMajor);
  if (same) return tools(same, []);
  const newer = candidates.filter((c) => c.major > serverMajor).sort((a, b) => a.major - b.major)[0];
  if (newer) {
    return tools(newer, [
      `No pg_dump ${serverMajor} found; using pg_dump ${newer.version} for a Postgres ${serverMajor} server. Restore it with pg_restore ${newer.major} or newer; install postgresql-client-${serverMajor} for a matched archive.`,
    ]);
  }
  const newest = candidates.sort((a, b) => b.major - a.major)[0];
  const have = newest
    ? `the newest pg_dump here is ${newest.version} (${newest.dir})`
    : "no pg_dump was found";
  throw new DbBackupError(
    "client_too_old",
    `The server runs Postgres ${serverVersion} but ${have}; pg_dump refuses servers newer than itself.`,
    `Install postgresql-client-${serverMajor} (from the PostgreSQL apt repository) or set PG_BIN_DIR to a folder holding pg_dump ${serverMajor}.`,
  );
}
