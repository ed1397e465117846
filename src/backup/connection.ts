import type { ClientConfig } from "pg";
import type { Target } from "./target.js";

/** What a run's sessions are called on the server, so one a killed run left behind can be found. */
export function applicationName(jobId: string | undefined): string {
  return jobId ? `dbbackup:${jobId}` : "dbbackup";
}

export interface ChildConnection {
  /** A libpq connection URI with no password in it: safe for argv. */
  conninfo: string;
  /**
   * Environment for pg_dump and friends. The password travels in PGPASSWORD: never in argv, and in
   * no file, so nothing holding it outlives the run, however it ends (the child's environment is
   * readable only by its own user and root).
   */
  env: Record<string, string>;
}

export function childConnection(target: Target, jobId?: string): ChildConnection {
  const url = new URL(target.url.href);
  url.password = "";
  url.searchParams.delete("password");
  // A URL's application_name would override PGAPPNAME; ours names the run.
  url.searchParams.delete("application_name");
  const env: Record<string, string> = {
    PGAPPNAME: applicationName(jobId),
    PGCONNECT_TIMEOUT: "15",
    // Never read a user's ~/.pgpass or service file by accident.
    PGSERVICEFILE: "/dev/null",
    PGPASSFILE: "/dev/null",
  };
  if (target.password) env.PGPASSWORD = target.password;
  return { conninfo: url.href, env };
}

/** The `pg` client's equivalent, with libpq's sslmode meanings (require = encrypt, don't verify). */
export function clientConfig(target: Target, sslOverride?: boolean, jobId?: string): ClientConfig {
  const mode = target.sslmode ?? "prefer";
  let ssl: ClientConfig["ssl"];
  if (mode === "disable" || mode === "allow") ssl = false;
  else if (mode === "verify-ca" || mode === "verify-full") ssl = { rejectUnauthorized: true };
  else ssl = { rejectUnauthorized: false };
  if (sslOverride === false) ssl = false;
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl,
    connectionTimeoutMillis: 15_000,
    application_name: applicationName(jobId),
  };
}
