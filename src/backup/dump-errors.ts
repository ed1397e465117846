import { statfsSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import { explainConnectError } from "./connect-errors.js";
import { redactText } from "./redact.js";
import type { Target } from "./target.js";

export interface ChildFailure {
  tool: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  cancelled: boolean;
}

function freeMegabytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Math.floor((s.bavail * s.bsize) / 1_048_576);
  } catch {
    return undefined;
  }
}

function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    [...lines].reverse().find((l) => /error|fatal|failed|could not|denied/i.test(l)) ??
    lines.at(-1) ??
    "(no output)"
  );
}

/** pg_dump/pg_restore failed: say what happened and what to do, from its stderr and exit. */
export function explainChildFailure(failure: ChildFailure, target: Target, outDir: string): DbBackupError {
  const stderr = redactText(failure.stderr, [target.password]);
  const { tool } = failure;
  if (failure.cancelled) {
    return new DbBackupError(
      "cancelled",
      `The backup was cancelled while ${tool} ran.`,
      "Nothing was kept; run it again when ready.",
    );
  }
  if (
    /No space left on device|could not write to output file|could not close output file.*space/i.test(stderr)
  ) {
    const free = freeMegabytes(outDir);
    return new DbBackupError(
      "disk_full",
      `The disk holding ${path.dirname(outDir)} filled up (${free ?? "?"} MB free when ${tool} failed); the partial backup was removed.`,
      "Free space there (delete old backups; `dbbackup list` shows them) or point DBBACKUP_DIR at a bigger disk, then run again.",
    );
  }
  if (/server version mismatch/i.test(stderr)) {
    const m = /server version: ([\d.]+)[^;]*; pg_dump version: ([\d.]+)/.exec(stderr);
    const major = m?.[1]?.split(".")[0] ?? "<major>";
    return new DbBackupError(
      "client_too_old",
      `pg_dump ${m?.[2] ?? ""} refused the server (Postgres ${m?.[1] ?? "newer"}).`,
      `Install postgresql-client-${major} or set PG_BIN_DIR to a folder holding pg_dump ${major}.`,
    );
  }
  const denied =
    /permission denied for (table|schema|sequence|relation|view|function|materialized view|database) ([^\s]+)/i.exec(
      stderr,
    );
  if (denied) {
    return new DbBackupError(
      "permission_denied",
      `${target.user} may not read ${denied[1]} ${denied[2]}, so ${tool} stopped.`,
      `Back up as the database owner (Supabase: the postgres user), or GRANT SELECT ON ${denied[2]} TO ${target.user}.`,
    );
  }
  // pg_dump implements --lock-wait-timeout with statement_timeout around its LOCK TABLE, so a lock
  // it waited too long for reads "statement timeout" with "Query was: LOCK TABLE <name> …".
  const lockTableTimedOut =
    /canceling statement due to statement timeout/i.test(stderr) && /Query was: LOCK TABLE /i.test(stderr);
  if (
    lockTableTimedOut ||
    /could not obtain lock on relation|lock timeout|canceling statement due to lock timeout/i.test(stderr)
  ) {
    const rel = /relation "([^"]+)"/.exec(stderr)?.[1] ?? /Query was: LOCK TABLE (\S+)/i.exec(stderr)?.[1];
    return new DbBackupError(
      "lock_timeout",
      `${tool} waited too long for a lock${rel ? ` on ${rel}` : ""}: something (a migration, a long transaction) holds it.`,
      "Find the holder in pg_stat_activity and let it finish (or end it), then run again. DBBACKUP_LOCK_WAIT_TIMEOUT sets how long to wait.",
    );
  }
  if (/connection to server .* failed|could not connect|password authentication failed|SSL/i.test(stderr)) {
    return explainConnectError({ message: stderr }, target);
  }
  if (failure.signal) {
    return new DbBackupError(
      "dump_killed",
      `${tool} was killed (${failure.signal}) before it finished.`,
      failure.signal === "SIGKILL"
        ? "Something outside dbbackup ended it (the out-of-memory killer? check dmesg or the container's limits); run again."
        : "Run the backup again; if it repeats, check what sends the signal (a supervisor, a timeout).",
    );
  }
  if (/server closed the connection unexpectedly|terminating connection/i.test(stderr)) {
    return new DbBackupError(
      "connection_lost",
      `The database ended ${tool}'s connection mid-dump: ${lastErrorLine(stderr)}`,
      "Check the server's logs (a restart, an admin's pg_terminate_backend, a statement_timeout) and run again.",
    );
  }
  return new DbBackupError(
    "dump_failed",
    `${tool} failed (exit ${failure.exitCode ?? "?"}): ${lastErrorLine(stderr)}`,
    "Read the log named below for the full output; fix what it says and run again.",
  );
}
