import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import { displayUrl } from "../redact.js";

/** The folder env of a `--url` backup: never a configured environment's name. */
export const ADHOC_ENV = "adhoc";

export interface Target {
  env: string;
  /** Which setting the URL came from, e.g. "DATABASE_URL_STAGING", "DATABASE_URL" (legacy) or "--url". */
  source: string;
  url: URL;
  /** `postgresql://user:****@host:5432/db?sslmode=require` */
  display: string;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: string | undefined;
  warnings: string[];
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]", ""]);

export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host) || host.startsWith("/");
}

const SUPABASE_5432_ADVICE =
  "Use port 5432: the direct host db.<ref>.supabase.co:5432 (IPv6 unless you bought IPv4) or the session pooler aws-N-<region>.pooler.supabase.com:5432 with user postgres.<ref>.";

function urlAdvice(env: string): string {
  if (env === "prod")
    return "Set DATABASE_URL_PROD in .env (prod never falls back to DATABASE_URL), or pass --url.";
  if (env === "staging")
    return "Set DATABASE_URL_STAGING (or the legacy DATABASE_URL) in .env, or pass --url.";
  return `Set DATABASE_URL_${env.toUpperCase().replace(/-/g, "_")} in .env, or pass --url.`;
}

/** Parses and checks a connection URL. Nothing here connects; nothing thrown contains the password. */
export function parseTarget(raw: string, env: string, source: string): Target {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new DbBackupError(
      "url_invalid",
      `The ${source} value is not a URL.`,
      "It should look like postgresql://user:password@host:5432/postgres?sslmode=require (quote it in .env if the password has # or spaces).",
    );
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new DbBackupError(
      "url_invalid",
      `The ${source} URL starts with ${url.protocol}// but must be postgresql://.`,
      "Copy the connection string from Supabase: Project Settings → Database → Connection string (URI).",
    );
  }
  const host = decodeURIComponent(url.hostname);
  const port = url.port ? Number(url.port) : 5432;
  const display = displayUrl(url);
  if (port === 6543) {
    throw new DbBackupError(
      "port_6543",
      `Refusing ${display}: port 6543 is Supabase's transaction pooler, which breaks pg_dump (no session state, prepared statements or long transactions).`,
      SUPABASE_5432_ADVICE,
    );
  }
  const sslmode = url.searchParams.get("sslmode") ?? undefined;
  const warnings: string[] = [];
  if (!sslmode && !isLocalHost(host)) {
    warnings.push(
      `No sslmode in the ${source} URL for ${host}: add ?sslmode=require (the runbook's minimum) so the dump never crosses the network unencrypted.`,
    );
  }
  const password = url.password ? decodeURIComponent(url.password) : (url.searchParams.get("password") ?? "");
  return {
    env,
    source,
    url,
    display,
    host,
    port,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres",
    user: decodeURIComponent(url.username) || "postgres",
    password,
    sslmode,
    warnings,
  };
}

export interface TargetRequest {
  env?: string | undefined;
  url?: string | undefined;
}

/** env (default staging) or a one-off --url → a checked Target. */
export function resolveTarget(config: Config, request: TargetRequest): Target {
  if (request.url !== undefined) {
    if (request.env !== undefined) {
      throw new DbBackupError(
        "url_with_env",
        `--url makes a one-off backup filed as "${ADHOC_ENV}", so it can't also be ${request.env}.`,
        `Drop "${request.env}" to back up that URL, or drop --url to back up ${request.env} from its configured URL.`,
      );
    }
    return parseTarget(request.url, ADHOC_ENV, "--url");
  }
  const env = request.env ?? "staging";
  const configured = config.environments.get(env);
  if (!configured) {
    throw new DbBackupError("no_url", `No database URL for ${env}.`, urlAdvice(env));
  }
  const target = parseTarget(configured.url, env, configured.source);
  if (configured.source === "DATABASE_URL") {
    target.warnings.push(
      "Using the legacy DATABASE_URL for staging; set DATABASE_URL_STAGING to be explicit.",
    );
  }
  return target;
}
