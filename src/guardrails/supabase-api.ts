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
  fetchText,
  parseAnswer,
  type RequestContext,
  redact,
  TOKENS_PAGE,
  throwOnOtherFailure,
  throwOnRefusal,
} from "./supabase-http.js";
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

// ------------------------------------------------------------------ client

interface GetOptions {
  /** Answer null (instead of throwing) on a 4xx other than 401/403/404/429. */
  tolerateClientErrors?: boolean;
}

function makeClient(options: SupabaseApiOptions, ref: string) {
  const { token } = options;
  // Checked before any request.
  checkProjectRef(ref, token);
  checkToken(token);
  const base = parseApiUrl(options.apiUrl, token);
  const request: RequestContext = {
    options,
    ref,
    token,
    host: base.host,
    root: base.href.replace(/\/+$/, ""),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };

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
    const { status, body } = await fetchText(request, suffix, what);
    throwOnRefusal(request, status, what);
    if (getOptions.tolerateClientErrors && status >= 400 && status < 500) return null;
    throwOnOtherFailure(request, status, body, what);
    return parseAnswer(request, body, schema, what);
  }

  return { get };
}

/** The ref goes into the URL path, so it must be exactly the known shape. */
function checkProjectRef(ref: string, token: string): void {
  if (PROJECT_REF.test(ref)) return;
  // Echo the bad value only when it can't be (part of) a secret, e.g. the token pasted into the ref.
  const secretish = ref.startsWith("sbp_") || (token.length > 0 && ref.includes(token)) || ref.length > 40;
  throw new DbBackupError(
    "config_invalid",
    `${secretish ? "The value given" : JSON.stringify(ref)} is not a Supabase project ref (expected 20 lower-case letters).`,
    "Copy the ref from the dashboard URL, supabase.com/dashboard/project/<ref>, or from Project Settings → General.",
  );
}

/** An empty or multi-line token would otherwise reach fetch, whose "invalid header value" error quotes it. */
function checkToken(token: string): void {
  if (token.length > 0 && /^[\x21-\x7e]+$/.test(token)) return;
  throw new DbBackupError(
    "config_invalid",
    token.length === 0
      ? "SUPABASE_ACCESS_TOKEN is empty."
      : "SUPABASE_ACCESS_TOKEN contains spaces, line breaks or other characters a token never has.",
    `Paste the personal access token from ${TOKENS_PAGE} (it starts with sbp_) without quotes or newlines.`,
  );
}

function parseApiUrl(apiUrl: string, token: string): URL {
  try {
    return new URL(apiUrl || DEFAULT_SUPABASE_API_URL);
  } catch {
    throw new DbBackupError(
      "config_invalid",
      `The Supabase API URL "${redact(apiUrl, token)}" is not a URL.`,
      `Leave it unset to use ${DEFAULT_SUPABASE_API_URL}.`,
    );
  }
}
