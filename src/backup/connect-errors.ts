import { DbBackupError } from "../errors.js";
import { redactText } from "../redact.js";
import type { Target } from "./target.js";

interface ErrorLike {
  code?: string;
  message?: string;
}

function asErrorLike(error: unknown): ErrorLike {
  return typeof error === "object" && error !== null ? (error as ErrorLike) : { message: String(error) };
}

/** One known way a connection fails: matched on `<code> <message>`, or on the SQLSTATE alone. */
interface ConnectRule {
  pattern: RegExp;
  code?: string;
  explain: (target: Target) => DbBackupError;
}

function where(target: Target): string {
  return `${target.host}:${target.port}`;
}

/** Checked in order: the first that matches explains the failure. */
const CONNECT_RULES: readonly ConnectRule[] = [
  {
    pattern: /ENOTFOUND|EAI_AGAIN|could not translate host name|Name or service not known/i,
    explain: (target) =>
      new DbBackupError(
        "bad_host",
        `Can't find the database host ${target.host} (DNS lookup failed).`,
        `Check the host in ${target.source}. Supabase's direct host db.<ref>.supabase.co is IPv6-only unless you bought IPv4: from an IPv4-only machine use the session pooler aws-N-<region>.pooler.supabase.com:5432.`,
      ),
  },
  {
    pattern: /ENETUNREACH|EHOSTUNREACH|Network is unreachable|No route to host/i,
    explain: (target) =>
      new DbBackupError(
        "bad_host",
        `No network route to ${where(target)}.`,
        "If this is Supabase's direct host (IPv6), this machine lacks IPv6: use the session pooler on port 5432 instead.",
      ),
  },
  {
    pattern: /ECONNREFUSED|Connection refused/i,
    explain: (target) =>
      new DbBackupError(
        "bad_host",
        `Nothing is accepting connections at ${where(target)} (connection refused).`,
        `Check the host and port in ${target.source}, and that the database is running.`,
      ),
  },
  {
    pattern: /ETIMEDOUT|timeout expired|Connection terminated due to connection timeout|timed out/i,
    explain: (target) =>
      new DbBackupError(
        "bad_host",
        `No answer from ${where(target)} within 15 seconds.`,
        "Check the host, the network or firewall between here and the database, and IPv6 reachability for Supabase's direct host.",
      ),
  },
  {
    code: "28P01",
    pattern: /password authentication failed/i,
    explain: (target) =>
      new DbBackupError(
        "wrong_password",
        `The database refused the password for user ${target.user} at ${target.host}.`,
        `Update the password in ${target.source} (Supabase: Project Settings → Database → Reset password); URL-encode characters like @ : / # in it.`,
      ),
  },
  {
    pattern: /Tenant or user not found/i,
    explain: (target) =>
      new DbBackupError(
        "wrong_user",
        `Supabase's pooler doesn't know user ${target.user}.`,
        "On the session pooler the user is postgres.<project-ref>, e.g. postgresql://postgres.abcd1234:…@aws-0-eu-west-1.pooler.supabase.com:5432/postgres.",
      ),
  },
  {
    pattern: /pg_hba\.conf (entry|rejects).*(no encryption|SSL off)|SSL connection is required|requires SSL/i,
    explain: (target) =>
      new DbBackupError(
        "ssl_required",
        `The server at ${target.host} requires SSL and the connection was not encrypted.`,
        `Set sslmode=require in ${target.source} (…/postgres?sslmode=require).`,
      ),
  },
  {
    pattern: /does not support SSL|server does not support SSL/i,
    explain: (target) =>
      new DbBackupError(
        "ssl_unsupported",
        `The server at ${target.host} does not offer SSL, but the URL asks for sslmode=${target.sslmode}.`,
        "Only for a local or trusted network: use sslmode=disable or prefer. For a remote server, enable SSL on it.",
      ),
  },
  {
    code: "3D000",
    pattern: /database ".*" does not exist/i,
    explain: (target) =>
      new DbBackupError(
        "no_database",
        `Database "${target.database}" does not exist at ${target.host}.`,
        `Fix the database name in ${target.source} (Supabase's is "postgres").`,
      ),
  },
  {
    pattern: /no pg_hba\.conf entry/i,
    explain: (target) =>
      new DbBackupError(
        "not_allowed",
        `The server at ${target.host} does not allow user ${target.user} to connect from this machine.`,
        "Allow this machine's address (Supabase: Database → Network restrictions) or use another user.",
      ),
  },
];

/** Turns a failed connection (from `pg` or libpq's stderr) into what happened and what to do. */
export function explainConnectError(error: unknown, target: Target): DbBackupError {
  const { code, message: rawMessage = "" } = asErrorLike(error);
  const message = redactText(rawMessage, [target.password]);
  const text = `${code ?? ""} ${message}`;
  const rule = CONNECT_RULES.find((r) => (r.code !== undefined && code === r.code) || r.pattern.test(text));
  if (rule) return rule.explain(target);
  return new DbBackupError(
    "connect_failed",
    `Could not connect to ${target.display}: ${message.split("\n")[0]}`,
    `Check ${target.source}, then try: psql "${target.display}" -c 'select 1' (with the password in PGPASSWORD).`,
  );
}
