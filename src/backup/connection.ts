import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClientConfig } from "pg";
import type { Target } from "./target.js";

/** libpq's passfile escaping: `:` and `\` are backslash-escaped. */
function passfileField(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
}

export interface ChildConnection {
  /** A libpq connection URI with no password in it: safe for argv. */
  conninfo: string;
  /** Environment for pg_dump and friends: the password travels in a 0600 passfile, never argv. */
  env: Record<string, string>;
  dispose(): void;
}

export function childConnection(target: Target): ChildConnection {
  const url = new URL(target.url.href);
  url.password = "";
  url.searchParams.delete("password");
  const env: Record<string, string> = {
    PGAPPNAME: "dbbackup",
    PGCONNECT_TIMEOUT: "15",
    // Never read a user's ~/.pgpass or service file by accident.
    PGSERVICEFILE: "/dev/null",
  };
  let dir: string | undefined;
  if (target.password) {
    dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-pass-"));
    const file = path.join(dir, "pgpass");
    const line = ["*", "*", "*", passfileField(target.user), passfileField(target.password)].join(":");
    writeFileSync(file, `${line}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    env.PGPASSFILE = file;
  } else {
    env.PGPASSFILE = "/dev/null";
  }
  return {
    conninfo: url.href,
    env,
    dispose() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `pg` client's equivalent, with libpq's sslmode meanings (require = encrypt, don't verify). */
export function clientConfig(target: Target, sslOverride?: boolean): ClientConfig {
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
    application_name: "dbbackup",
  };
}
