import { statfsSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import { redactText } from "../redact.js";
import { explainConnectError } from "./connect-errors.js";
import { quoteIdent } from "./grants.js";
import type { Target } from "./target.js";

export interface ChildFailure {
  tool: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
  cancelled: boolean;
  /** How long it ran before it failed. */
  ms?: number;
}

/** pg_dump's verbose lines that come only once it has connected and is reading the database. */
const CONNECTED =
  /last built-in OID|reading (extensions|schemas|user-defined|tables|table inheritance)|dumping contents of table|identifying extension members|saving (encoding|search_path|standard_conforming_strings)/i;

/** A connection that was up and went away: the server stopped, failed over, or the network dropped. */
const LOST =
  /server closed the connection unexpectedly|terminating connection|SSL SYSCALL error|SSL connection has been closed unexpectedly|could not receive data from server|connection to server was lost|no connection to the server|EOF detected|Connection reset by peer/i;

function seconds(ms: number | undefined): string {
  if (ms === undefined) return "";
  return ms < 60_000
    ? ` after ${Math.max(1, Math.round(ms / 1000))} s`
    : ` after ${Math.round(ms / 60_000)} min`;
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

/** Server functions pg_dump asks to print an object's definition, and the catalog each object lives in. */
const DEFINERS: Record<string, string> = {
  pg_get_viewdef: "pg_class",
  pg_get_indexdef: "pg_class",
  pg_get_ruledef: "pg_rewrite",
  pg_get_triggerdef: "pg_trigger",
  pg_get_constraintdef: "pg_constraint",
  pg_get_functiondef: "pg_proc",
  pg_get_function_arguments: "pg_proc",
  pg_get_function_result: "pg_proc",
  pg_get_expr: "pg_class",
  pg_get_statisticsobjdef: "pg_statistic_ext",
  pg_get_partkeydef: "pg_class",
};

/**
 * pg_dump stopped because the *server* failed to describe an object in its catalog (a server bug such
 * as "unrecognized RTE kind", or a damaged catalog): a new backup fails the same way, so the advice
 * is about the object, not about running again.
 */
export class DumpLimitError extends DbBackupError {
  constructor(
    readonly serverError: string,
    readonly catalog: string | undefined,
    readonly oid: number | undefined,
    object?: string,
  ) {
    const what =
      object ??
      (oid !== undefined ? `the object with OID ${oid}${catalog ? ` (in ${catalog})` : ""}` : "an object");
    super(
      "dump_limit",
      `The server could not describe ${what} for pg_dump (ERROR: ${serverError}), so this database can't be dumped as it is; a new backup would fail the same way.`,
      `Fix or recreate ${object ?? "that object"} in the database (or drop it if nothing uses it), then back up again. Postgres reports this as a server-side problem: check the server's log and known bugs of its version.`,
    );
  }

  /** The same, with the object named (looked up by the caller, who still has a connection). */
  naming(object: string): DumpLimitError {
    return new DumpLimitError(this.serverError, this.catalog, this.oid, object);
  }
}

function dumpLimit(stderr: string): DumpLimitError | undefined {
  const failedQuery = /query failed: ERROR:\s+(.+)/.exec(stderr);
  const query = /Query was: (.+)/.exec(stderr)?.[1];
  if (!failedQuery?.[1] || !query) return undefined;
  const definer = /(pg_get_\w+)\('?(\d+)'?(?:::\w+(?:\.\w+)?)?/.exec(query);
  if (!definer) return undefined;
  const catalog = definer[1] ? DEFINERS[definer[1]] : undefined;
  if (!catalog) return undefined;
  return new DumpLimitError(failedQuery[1].trim(), catalog, Number(definer[2]));
}

/** What every explanation of a failed child may look at; stderr is already redacted. */
interface FailureFacts {
  failure: ChildFailure;
  stderr: string;
  tool: string;
  target: Target;
  outDir: string;
}

function cancelled({ failure, tool }: FailureFacts): DbBackupError | undefined {
  if (!failure.cancelled) return undefined;
  return new DbBackupError(
    "cancelled",
    `The backup was cancelled while ${tool} ran.`,
    "Nothing was kept; run it again when ready.",
  );
}

function diskFull({ stderr, tool, outDir }: FailureFacts): DbBackupError | undefined {
  if (
    !/No space left on device|could not write to output file|could not close output file.*space/i.test(stderr)
  ) {
    return undefined;
  }
  const free = freeMegabytes(outDir);
  return new DbBackupError(
    "disk_full",
    `The disk holding ${path.dirname(outDir)} filled up (${free ?? "?"} MB free when ${tool} failed); the partial backup was removed.`,
    "Free space there (delete old backups; `dbbackup list` shows them) or point DBBACKUP_DIR at a bigger disk, then run again.",
  );
}

function clientTooOld({ stderr }: FailureFacts): DbBackupError | undefined {
  if (!/server version mismatch/i.test(stderr)) return undefined;
  const m = /server version: ([\d.]+)[^;]*; pg_dump version: ([\d.]+)/.exec(stderr);
  const major = m?.[1]?.split(".")[0] ?? "<major>";
  return new DbBackupError(
    "client_too_old",
    `pg_dump ${m?.[2] ?? ""} refused the server (Postgres ${m?.[1] ?? "newer"}).`,
    `Install postgresql-client-${major} or set PG_BIN_DIR to a folder holding pg_dump ${major}.`,
  );
}

/** The GRANTs that let `role` read what pg_dump was denied; none for a function (EXECUTE is advised instead). */
function grantsFor(kind: string, name: string, qualified: string, role: string): string[] {
  switch (kind) {
    case "schema":
      return [
        `GRANT USAGE ON SCHEMA ${quoteIdent(name)} TO ${role};`,
        `GRANT SELECT ON ALL TABLES IN SCHEMA ${quoteIdent(name)} TO ${role};`,
        `GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${quoteIdent(name)} TO ${role};`,
      ];
    case "sequence":
      return [`GRANT SELECT ON SEQUENCE ${qualified} TO ${role};`];
    case "database":
      return [`GRANT CONNECT ON DATABASE ${quoteIdent(name)} TO ${role};`];
    case "function":
      return [];
    default:
      return [`GRANT SELECT ON ${qualified} TO ${role};`];
  }
}

function permissionDenied({ stderr, tool, target }: FailureFacts): DbBackupError | undefined {
  const denied =
    /permission denied for (table|schema|sequence|relation|view|function|materialized view|database) ([^\s]+)/i.exec(
      stderr,
    );
  if (!denied) return undefined;
  const kind = (denied[1] ?? "").toLowerCase();
  const name = (denied[2] ?? "").replace(/^"|"$/g, "");
  // pg_dump names the object bare; its failed query names it with its schema.
  const qualified = /Query was: LOCK TABLE (\S+)/i.exec(stderr)?.[1] ?? name;
  const role = quoteIdent(target.user.split(".")[0] ?? target.user);
  const grants = grantsFor(kind, name, qualified, role);
  return new DbBackupError(
    "permission_denied",
    `${target.user} may not read ${kind} ${name}, so ${tool} stopped.`,
    grants.length > 0
      ? `Back up as the database owner (Supabase: the postgres user), or have the owner run: ${grants.join(" ")}`
      : `Back up as the database owner (Supabase: the postgres user), or have the owner grant EXECUTE on ${kind} ${name} to ${target.user}.`,
  );
}

function lockTimeout({ stderr, tool }: FailureFacts): DbBackupError | undefined {
  // pg_dump implements --lock-wait-timeout with statement_timeout around its LOCK TABLE, so a lock
  // it waited too long for reads "statement timeout" with "Query was: LOCK TABLE <name> …".
  const lockTableTimedOut =
    /canceling statement due to statement timeout/i.test(stderr) && /Query was: LOCK TABLE /i.test(stderr);
  if (
    !lockTableTimedOut &&
    !/could not obtain lock on relation|lock timeout|canceling statement due to lock timeout/i.test(stderr)
  ) {
    return undefined;
  }
  const rel = /relation "([^"]+)"/.exec(stderr)?.[1] ?? /Query was: LOCK TABLE (\S+)/i.exec(stderr)?.[1];
  return new DbBackupError(
    "lock_timeout",
    `${tool} waited too long for a lock${rel ? ` on ${rel}` : ""}: something (a migration, a long transaction) holds it.`,
    "Find the holder in pg_stat_activity and let it finish (or end it), then run again. DBBACKUP_LOCK_WAIT_TIMEOUT sets how long to wait.",
  );
}

// Connected, then lost: never "could not connect" (an SSL error mid-dump would otherwise read like one).
function lostAfterConnecting({ stderr, failure }: FailureFacts): DbBackupError | undefined {
  if (!CONNECTED.test(stderr) || !LOST.test(stderr)) return undefined;
  return new DbBackupError(
    "connection_lost",
    `The database server went away during the dump${seconds(failure.ms)} (${lastErrorLine(stderr)}); nothing was kept.`,
    "Check that the server is up again (a restart, a failover, a network drop, an admin's pg_terminate_backend), then run again.",
  );
}

function couldNotConnect({ stderr, target }: FailureFacts): DbBackupError | undefined {
  if (!/connection to server .* failed|could not connect|password authentication failed|SSL/i.test(stderr)) {
    return undefined;
  }
  return explainConnectError({ message: stderr }, target);
}

function killed({ failure, tool }: FailureFacts): DbBackupError | undefined {
  if (!failure.signal) return undefined;
  return new DbBackupError(
    "dump_killed",
    `${tool} was killed (${failure.signal}) before it finished.`,
    failure.signal === "SIGKILL"
      ? "Something outside dbbackup ended it (the out-of-memory killer? check dmesg or the container's limits); run again."
      : "Run the backup again; if it repeats, check what sends the signal (a supervisor, a timeout).",
  );
}

function connectionEnded({ stderr, tool, failure }: FailureFacts): DbBackupError | undefined {
  if (!LOST.test(stderr)) return undefined;
  return new DbBackupError(
    "connection_lost",
    `The database ended ${tool}'s connection mid-dump${seconds(failure.ms)}: ${lastErrorLine(stderr)}; nothing was kept.`,
    "Check the server's logs (a restart, an admin's pg_terminate_backend, a statement_timeout) and run again.",
  );
}

/** Checked in order: the first that recognises the failure explains it. */
const EXPLANATIONS: readonly ((facts: FailureFacts) => DbBackupError | undefined)[] = [
  cancelled,
  diskFull,
  clientTooOld,
  permissionDenied,
  ({ stderr }) => dumpLimit(stderr),
  lockTimeout,
  lostAfterConnecting,
  couldNotConnect,
  killed,
  connectionEnded,
];

/** pg_dump/pg_restore failed: say what happened and what to do, from its stderr and exit. */
export function explainChildFailure(failure: ChildFailure, target: Target, outDir: string): DbBackupError {
  const stderr = redactText(failure.stderr, [target.password]);
  const facts: FailureFacts = { failure, stderr, tool: failure.tool, target, outDir };
  for (const explain of EXPLANATIONS) {
    const error = explain(facts);
    if (error) return error;
  }
  return new DbBackupError(
    "dump_failed",
    `${failure.tool} failed (exit ${failure.exitCode ?? "?"}): ${lastErrorLine(stderr)}`,
    "Read the log named below for the full output; fix what it says and run again.",
  );
}
