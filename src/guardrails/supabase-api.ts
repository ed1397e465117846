/**
 * Reads whether a Supabase project has a Postgres upgrade available or running, from the Management API
 * (https://supabase.com/docs/reference/api/introduction). Three GETs, in this order:
 *
 * - `/v1/projects/{ref}` (v1-get-project): `{ status: "ACTIVE_HEALTHY" | "UPGRADING" | …, database?: { version, … } }`.
 * - `/v1/projects/{ref}/upgrade/eligibility` (v1-get-postgres-upgrade-eligibility, beta):
 *   `{ eligible, current_app_version: "supabase-postgres-15.6.1.143",
 *      target_upgrade_versions: [{ postgres_version: "17", release_channel: "ga", app_version }], … }`.
 * - `/v1/projects/{ref}/upgrade/status` (v1-get-postgres-upgrade-status, beta):
 *   `{ databaseUpgradeStatus: { status: 0 | 1 | 2, progress: "3_…", target_version: 17, initiated_at,
 *      latest_status_at, error?: "1_…" } | null }` where status 0 = upgrading, 1 = upgraded, 2 = failed.
 *
 * Every failure is a DbBackupError; the access token never appears in one.
 */
import type { z } from "zod/v3";
import { DbBackupError } from "../errors.js";
import {
  appVersion,
  eligibilitySchema,
  highestTarget,
  nonEmpty,
  projectSchema,
  statusSaysRunning,
  upgradeStatusSchema,
} from "./supabase-responses.js";

export interface SupabaseUpgradeState {
  ref: string;
  /** Project status as the API says it, e.g. ACTIVE_HEALTHY, UPGRADING. */
  projectStatus: string;
  /** Current Postgres version if the API says (e.g. "15.6.1.143" or from current_app_version), else null. */
  currentVersion: string | null;
  /** An upgrade can be started now (eligibility.eligible with at least one target). */
  upgradeAvailable: boolean;
  /** Highest offered target postgres_version / app_version, else null. */
  targetVersion: string | null;
  /** An upgrade is in progress (project status UPGRADING or upgrade status says running). */
  upgradeRunning: boolean;
}

export interface SupabaseApiOptions {
  /** Default https://api.supabase.com; tests pass http://127.0.0.1:PORT. */
  apiUrl: string;
  token: string;
  /** Cancels the whole read; its abort reason is rethrown as is (a cancellation is not an API failure). */
  signal?: AbortSignal;
  /** Per request, including reading the body (default 10,000). */
  timeoutMs?: number;
}

export const DEFAULT_SUPABASE_API_URL = "https://api.supabase.com";
const DEFAULT_TIMEOUT_MS = 10_000;

/** Supabase project refs are 20 lower-case letters (the id in supabase.com/dashboard/project/<ref>). */
const PROJECT_REF = /^[a-z]{20}$/;
const TOKENS_PAGE = "https://supabase.com/dashboard/account/tokens";

export async function readUpgradeState(
  options: SupabaseApiOptions,
  ref: string,
): Promise<SupabaseUpgradeState> {
  const client = makeClient(options, ref);

  // The project read goes first: a bad token or unknown ref fails here, after one request.
  const project = await client.get("", projectSchema, "project");

  // Some projects can't be upgraded through the API and the beta endpoints answer them with a 4xx
  // (400/409/422…). That is "no upgrade offered here", not a broken nag job. Auth, not-found and rate
  // limits still fail: they are real problems, and swallowing a 429 would silently skip the check.
  const eligibility = await client.get("/upgrade/eligibility", eligibilitySchema, "upgrade eligibility", {
    tolerateClientErrors: true,
  });
  // Same for the status: a project that can't be upgraded by API may have no status to give.
  const status = await client.get("/upgrade/status", upgradeStatusSchema, "upgrade status", {
    tolerateClientErrors: true,
  });

  const targetVersion = highestTarget(eligibility);
  return {
    ref,
    projectStatus: project.status,
    currentVersion:
      nonEmpty(project.database?.version) ?? nonEmpty(appVersion(eligibility?.current_app_version)) ?? null,
    upgradeAvailable: eligibility?.eligible === true && targetVersion !== null,
    targetVersion,
    upgradeRunning: project.status === "UPGRADING" || statusSaysRunning(status),
  };
}

// ------------------------------------------------------------------ HTTP

interface GetOptions {
  /** Answer null (instead of throwing) on a 4xx other than 401/403/404/429. */
  tolerateClientErrors?: boolean;
}

function makeClient(options: SupabaseApiOptions, ref: string) {
  const { token } = options;
  // Checked before any request. The ref goes into the URL path, so it must be exactly the known shape.
  if (!PROJECT_REF.test(ref)) {
    // Echo the bad value only when it can't be (part of) a secret, e.g. the token pasted into the ref.
    const secretish = ref.startsWith("sbp_") || (token.length > 0 && ref.includes(token)) || ref.length > 40;
    throw new DbBackupError(
      "config_invalid",
      `${secretish ? "The value given" : JSON.stringify(ref)} is not a Supabase project ref (expected 20 lower-case letters).`,
      "Copy the ref from the dashboard URL, supabase.com/dashboard/project/<ref>, or from Project Settings → General.",
    );
  }
  // An empty or multi-line token would otherwise reach fetch, whose "invalid header value" error quotes it.
  if (token.length === 0 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new DbBackupError(
      "config_invalid",
      token.length === 0
        ? "SUPABASE_ACCESS_TOKEN is empty."
        : "SUPABASE_ACCESS_TOKEN contains spaces, line breaks or other characters a token never has.",
      `Paste the personal access token from ${TOKENS_PAGE} (it starts with sbp_) without quotes or newlines.`,
    );
  }
  let base: URL;
  try {
    base = new URL(options.apiUrl || DEFAULT_SUPABASE_API_URL);
  } catch {
    throw new DbBackupError(
      "config_invalid",
      `The Supabase API URL "${redact(options.apiUrl, token)}" is not a URL.`,
      `Leave it unset to use ${DEFAULT_SUPABASE_API_URL}.`,
    );
  }
  const host = base.host;
  const root = base.href.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function get<T extends z.ZodTypeAny>(
    suffix: string,
    schema: T,
    what: string,
    getOptions: GetOptions & { tolerateClientErrors: true },
  ): Promise<z.infer<T> | null>;
  async function get<T extends z.ZodTypeAny>(suffix: string, schema: T, what: string): Promise<z.infer<T>>;
  async function get<T extends z.ZodTypeAny>(
    suffix: string,
    schema: T,
    what: string,
    getOptions: GetOptions = {},
  ): Promise<z.infer<T> | null> {
    const url = `${root}/v1/projects/${ref}${suffix}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let status: number;
    let body: string;
    try {
      const response = await fetch(url, {
        method: "GET",
        headers: { authorization: `Bearer ${token}`, accept: "application/json" },
        signal,
        redirect: "error",
      });
      status = response.status;
      // Read under the same signal, so a server that stalls mid-body is bounded too.
      body = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const timedOut = timeout.aborted;
      throw new DbBackupError(
        "supabase_unreachable",
        timedOut
          ? `The Supabase API at ${host} did not answer the ${what} request for project ${ref} within ${timeoutMs} ms.`
          : `Could not reach the Supabase API at ${host} for project ${ref}${networkReason(error, token)}.`,
        `Check this machine's network and DNS (can it reach https://${host}?) and https://status.supabase.com, then run again.`,
      );
    }

    if (status === 401 || status === 403) {
      throw new DbBackupError(
        "supabase_auth",
        `Supabase refused SUPABASE_ACCESS_TOKEN (${status}) when reading the ${what} of project ${ref}.`,
        `Create a personal access token at ${TOKENS_PAGE} with an account that is a member of the project's organization, put it in SUPABASE_ACCESS_TOKEN, and run again.`,
      );
    }
    if (status === 404) {
      throw new DbBackupError(
        "supabase_not_found",
        `Supabase has no project ${ref} (404 on the ${what} request), or SUPABASE_ACCESS_TOKEN cannot see it.`,
        "Check the project ref against the dashboard URL (supabase.com/dashboard/project/<ref>) and that the token's account belongs to the project's organization.",
      );
    }
    if (status === 429) {
      throw new DbBackupError(
        "supabase_rate_limited",
        `Supabase rate-limited the ${what} request for project ${ref} (429).`,
        "The Management API allows about 60 requests a minute per account, shared by every tool using it. Wait a minute and run again; nothing is wrong with the project.",
      );
    }
    if (getOptions.tolerateClientErrors && status >= 400 && status < 500) return null;
    if (status < 200 || status >= 300) {
      throw new DbBackupError(
        "supabase_api",
        `The Supabase API answered ${status} to the ${what} request for project ${ref}${serverSays(body, token)}.`,
        status >= 500
          ? "A Supabase-side problem: check https://status.supabase.com and run again later."
          : "Run again; if it keeps failing, the Management API may have changed — report it with this message.",
      );
    }

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? ` (${issue.path.join(".") || "body"}: ${redact(issue.message, token)})` : "";
      throw new DbBackupError(
        "supabase_api",
        `The Supabase API's answer to the ${what} request for project ${ref} is not what was expected${where}.`,
        "The Management API may have changed, or something between here and Supabase (a proxy, a captive portal) answered instead. Run again; if it persists, report it with this message.",
      );
    }
    return parsed.data;
  }

  return { get };
}

// ------------------------------------------------------------------ error text

/** Belt and braces: text that came from elsewhere never carries the token, even if echoed back. */
function redact(text: string, token: string): string {
  return token.length > 0 ? text.split(token).join("[redacted]") : text;
}

/** ": ECONNREFUSED" etc. from fetch's cause chain, so on-call can tell DNS from a refused port. */
function networkReason(error: unknown, token: string): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return ` (${code})`;
    current = current.cause;
  }
  return error instanceof Error && error.message ? ` (${redact(error.message, token).slice(0, 200)})` : "";
}

/** The API's own error text (`{"message": "…"}`), shortened; nothing when the body isn't that. */
function serverSays(body: string, token: string): string {
  let message: unknown;
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json === "object" && json !== null && "message" in json) message = json.message;
  } catch {
    return "";
  }
  if (typeof message !== "string" || message.trim() === "") return "";
  const oneLine = redact(message, token).replace(/\s+/g, " ").trim();
  return `: "${oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine}"`;
}
