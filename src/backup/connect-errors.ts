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

/** Turns a failed connection (from `pg` or libpq's stderr) into what happened and what to do. */
export function explainConnectError(error: unknown, target: Target): DbBackupError {
  const { code, message: rawMessage = "" } = asErrorLike(error);
  const message = redactText(rawMessage, [target.password]);
  const where = `${target.host}:${target.port}`;
  const text = `${code ?? ""} ${message}`;
  const envVar = target.source;

  if (/ENOTFOUND|EAI_AGAIN|could not translate host name|Name or service not known/i.test(text)) {
    return new DbBackupError(
      "bad_host",
      `Can't find the database host ${target.host} (DNS lookup failed).`,
      `Check the host in ${envVar}. Supabase's direct host db.<ref>.supabase.co is IPv6-only unless you bought IPv4: from an IPv4-only machine use the session pooler aws-N-<region>.pooler.supabase.com:5432.`,
    );
  }
  if (/ENETUNREACH|EHOSTUNREACH|Network is unreachable|No route to host/i.test(text)) {
    return new DbBackupError(
      "bad_host",
      `No network route to ${where}.`,
      "If this is Supabase's direct host (IPv6), this machine lacks IPv6: use the session pooler on port 5432 instead.",
    );
  }
  if (/ECONNREFUSED|Connection refused/i.test(text)) {
    return new DbBackupError(
      "bad_host",
      `Nothing is accepting connections at ${where} (connection refused).`,
      `Check the host and port in ${envVar}, and that the database is running.`,
    );
  }
  if (/ETIMEDOUT|timeout expired|Connection terminated due to connection timeout|timed out/i.test(text)) {
    return new DbBackupError(
      "bad_host",
      `No answer from ${where} within 15 seconds.`,
      "Check the host, the network or firewall between here and the database, and IPv6 reachability for Supabase's direct host.",
    );
  }
  if (code === "28P01" || /password authentication failed/i.test(text)) {
    return new DbBackupError(
      "wrong_password",
      `The database refused the password for user ${target.user} at ${target.host}.`,
      `Update the password in ${envVar} (Supabase: Project Settings → Database → Reset password); URL-encode characters like @ : / # in it.`,
    );
  }
  if (/Tenant or user not found/i.test(text)) {
    return new DbBackupError(
      "wrong_user",
      `Supabase's pooler doesn't know user ${target.user}.`,
      "On the session pooler the user is postgres.<project-ref>, e.g. postgresql://postgres.abcd1234:…@aws-0-eu-west-1.pooler.supabase.com:5432/postgres.",
    );
  }
  if (
    /pg_hba\.conf (entry|rejects).*(no encryption|SSL off)|SSL connection is required|requires SSL/i.test(
      text,
    )
  ) {
    return new DbBackupError(
      "ssl_required",
      `The server at ${target.host} requires SSL and the connection was not encrypted.`,
      `Set sslmode=require in ${envVar} (…/postgres?sslmode=require).`,
    );
  }
  if (/does not support SSL|server does not support SSL/i.test(text)) {
    return new DbBackupError(
      "ssl_unsupported",
      `The server at ${target.host} does not offer SSL, but the URL asks for sslmode=${target.sslmode}.`,
      "Only for a local or trusted network: use sslmode=disable or prefer. For a remote server, enable SSL on it.",
    );
  }
  if (code === "3D000" || /database ".*" does not exist/i.test(text)) {
    return new DbBackupError(
      "no_database",
      `Database "${target.database}" does not exist at ${target.host}.`,
      `Fix the database name in ${envVar} (Supabase's is "postgres").`,
    );
  }
  if (/no pg_hba\.conf entry/i.test(text)) {
    return new DbBackupError(
      "not_allowed",
      `The server at ${target.host} does not allow user ${target.user} to connect from this machine.`,
      "Allow this machine's address (Supabase: Database → Network restrictions) or use another user.",
    );
  }
  return new DbBackupError(
    "connect_failed",
    `Could not connect to ${target.display}: ${message.split("\n")[0]}`,
    `Check ${envVar}, then try: psql "${target.display}" -c 'select 1' (with the password in PGPASSWORD).`,
  );
}
