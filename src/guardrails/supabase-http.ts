/**
 * One Management API GET for supabase-api.ts: fetch under a timeout, turn the status into a DbBackupError
 * or a "tolerated" answer, and check the body against its schema. The access token never appears in an error.
 */
import type { z } from "zod/v3";
import { DbBackupError } from "../errors.js";

export const TOKENS_PAGE = "https://supabase.com/dashboard/account/tokens";

/** What every request of one client shares. */
export interface RequestContext {
  /** The client's options, for their signal: a cancellation is rethrown as is. */
  options: { signal?: AbortSignal };
  ref: string;
  token: string;
  host: string;
  root: string;
  timeoutMs: number;
}

/** One GET, status and whole body, bounded by the timeout and the caller's signal. */
export async function fetchText(
  request: RequestContext,
  suffix: string,
  what: string,
): Promise<{ status: number; body: string }> {
  const { options, ref, token, host, timeoutMs } = request;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const response = await fetch(`${request.root}/v1/projects/${ref}${suffix}`, {
      method: "GET",
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      signal,
      redirect: "error",
    });
    // Read under the same signal, so a server that stalls mid-body is bounded too.
    return { status: response.status, body: await response.text() };
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
}

/** Auth, not-found and rate limits: always failures, even where other 4xx are tolerated. */
export function throwOnRefusal({ ref }: RequestContext, status: number, what: string): void {
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
}

export function throwOnOtherFailure(
  { ref, token }: RequestContext,
  status: number,
  body: string,
  what: string,
): void {
  if (status >= 200 && status < 300) return;
  throw new DbBackupError(
    "supabase_api",
    `The Supabase API answered ${status} to the ${what} request for project ${ref}${serverSays(body, token)}.`,
    status >= 500
      ? "A Supabase-side problem: check https://status.supabase.com and run again later."
      : "Run again; if it keeps failing, the Management API may have changed — report it with this message.",
  );
}

export function parseAnswer<T extends z.ZodTypeAny>(
  { ref, token }: RequestContext,
  body: string,
  schema: T,
  what: string,
): z.infer<T> {
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

// ------------------------------------------------------------------ error text

/** Belt and braces: text that came from elsewhere never carries the token, even if echoed back. */
export function redact(text: string, token: string): string {
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
