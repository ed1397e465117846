import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { DbBackupError } from "../errors.js";
import type { ServerBinaries } from "./server-binaries.js";

/**
 * A scratch server's folder, set up for the user that runs it: Postgres refuses to run as root, so
 * as root that is another user, who must own its files and reach the binaries; and initdb's own
 * words when it fails.
 */
export interface RunAs {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root; as root we run it as the `postgres` user, creating one if needed. */
export function runAsUser(): RunAs | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const find = (): RunAs | undefined => {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("postgres:"));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  };
  const existing = find();
  if (existing) return existing;
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"]);
  const created = find();
  if (!created) throw new Error("could not create a postgres user to run the scratch server");
  return created;
}

export function writeOwned(file: string, text: string, runAs: RunAs | undefined, mode = 0o600): void {
  writeFileSync(file, text, { mode });
  if (runAs) chownSync(file, runAs.uid, runAs.gid);
}

export async function makeCertificate(dataDir: string, runAs: RunAs | undefined): Promise<void> {
  const key = path.join(dataDir, "server.key");
  const crt = path.join(dataDir, "server.crt");
  await execa("openssl", [
    "req",
    "-new",
    "-x509",
    "-days",
    "2",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    key,
    "-out",
    crt,
  ]);
  chmodSync(key, 0o600);
  if (runAs) {
    chownSync(key, runAs.uid, runAs.gid);
    chownSync(crt, runAs.uid, runAs.gid);
  }
}

/**
 * The first folder on the way to `dir` that the user `runAs` may not pass through (no x bit for
 * it), or undefined. As root, the scratch server runs as another user, who must reach the binaries:
 * under a 0700 home (`/root/app/node_modules/...`) they can't.
 */
export function firstUnreachable(dir: string, runAs: RunAs): { dir: string; mode: string } | undefined {
  let current = path.resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const d of chain) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(d);
    } catch {
      return undefined; // missing: findServerBinaries says so better
    }
    const bit = st.uid === runAs.uid ? 0o100 : st.gid === runAs.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return { dir: d, mode: (st.mode & 0o777).toString(8).padStart(4, "0") };
  }
  return undefined;
}

export function unreachableBinaries(
  bins: ServerBinaries,
  blocked: { dir: string; mode: string },
  runAs: RunAs,
): DbBackupError {
  const name = userName(runAs.uid) ?? `uid ${runAs.uid}`;
  return new DbBackupError(
    "scratch_server_failed",
    `The scratch Postgres ${bins.major} server must run as ${name} (Postgres refuses to run as root), but ${name} can't reach its binaries in ${bins.binDir}: ${blocked.dir} is mode ${blocked.mode}.`,
    `Install postgresql-${bins.major} (apt) so the server lives in /usr/lib/postgresql/${bins.major}/bin, or keep dbbackup outside ${blocked.dir} (or: chmod o+x ${blocked.dir}), or run dbbackup as an ordinary user.`,
  );
}

function userName(uid: number): string | undefined {
  try {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => Number(f[2]) === uid)?.[0];
  } catch {
    return undefined;
  }
}

/** initdb's own words, not just "failed". */
export function initdbFailed(error: unknown, major: number, origin: string): DbBackupError {
  const e = error as { stderr?: unknown; stdout?: unknown; message?: string };
  const output = `${typeof e.stderr === "string" ? e.stderr : ""}\n${typeof e.stdout === "string" ? e.stdout : ""}`;
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const said =
    lines.find((l) => /error|could not|fatal|no space|permission denied/i.test(l)) ??
    lines.at(-1) ??
    e.message?.split("\n")[0] ??
    "no output";
  const full = /No space left on device/i.test(output);
  return new DbBackupError(
    "scratch_server_failed",
    `initdb for the scratch Postgres ${major} server (${origin}) failed: ${said}`,
    full
      ? `The temp folder (${os.tmpdir()}) is full: free space there, or point TMPDIR at a bigger disk, then run the restore test again.`
      : "Fix what initdb says, then run the restore test again.",
  );
}
