/**
 * A fake Supabase Management API on 127.0.0.1 for tests, answering the three reads the upgrade check makes
 * the way api.supabase.com does (same paths, shapes and status codes):
 *
 * - GET /v1/projects/{ref}                      → { id, ref, name, status, database: { host, version, … } }
 * - GET /v1/projects/{ref}/upgrade/eligibility  → { eligible, current_app_version, target_upgrade_versions, … }
 * - GET /v1/projects/{ref}/upgrade/status       → { databaseUpgradeStatus: {…} | null }
 *
 * Auth: `Authorization: Bearer <token>`; missing or wrong → 401 {message:"Unauthorized"}. An unknown ref → 404.
 * Any other path or method → 404 (recorded, so a test can assert nothing unexpected was called).
 * Per ref and per endpoint a test can force an HTTP status, a raw (non-JSON) body, or a delay.
 */
import http from "node:http";
import { answerFakeError, listenLocal } from "./local-http.js";

export type FakeSupabaseEndpoint = "project" | "eligibility" | "status";

export interface FakeSupabaseProject {
  /** Project status (default ACTIVE_HEALTHY); e.g. UPGRADING, COMING_UP, INACTIVE. */
  status?: string;
  /** `database` of GET /v1/projects/{ref}; null omits it (default: Postgres 15.6.1.143 on ga). */
  database?: Record<string, unknown> | null;
  /** Body of the eligibility endpoint (default: not eligible, no targets). */
  eligibility?: Record<string, unknown>;
  /** Body of the status endpoint (default: { databaseUpgradeStatus: null }). */
  upgradeStatus?: Record<string, unknown>;
  /** Answer this HTTP status (with a {message} body) instead, per endpoint. */
  httpStatus?: Partial<Record<FakeSupabaseEndpoint, number>>;
  /** Answer 200 with this exact text instead of JSON, per endpoint (a proxy's HTML page, say). */
  rawBody?: Partial<Record<FakeSupabaseEndpoint, string>>;
  /** Wait this long before answering, per endpoint, ms. */
  delayMs?: Partial<Record<FakeSupabaseEndpoint, number>>;
}

export interface FakeSupabaseRequest {
  method: string;
  /** Path and query as received, e.g. /v1/projects/abc…/upgrade/status. */
  path: string;
  authorization: string | undefined;
  /** Which endpoint it matched, if any. */
  endpoint: FakeSupabaseEndpoint | undefined;
  ref: string | undefined;
  /** HTTP status the fake answered (0 if the client went away before the answer). */
  status: number;
  at: number;
}

export interface FakeSupabaseOptions {
  /** The valid personal access token (default "sbp_fake_0123456789abcdef0123456789abcdef01234567"). */
  token?: string;
  /** Known projects by ref. */
  projects?: Record<string, FakeSupabaseProject>;
}

export interface FakeSupabase {
  /** What `apiUrl` wants: http://127.0.0.1:PORT */
  readonly url: string;
  readonly token: string;
  /** Every request, in arrival order (recorded on arrival; `status` is filled in when answered). */
  readonly requests: readonly FakeSupabaseRequest[];
  /** Adds or replaces a project. */
  setProject(ref: string, project: FakeSupabaseProject): void;
  removeProject(ref: string): void;
  /** Forget recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_FAKE_SUPABASE_TOKEN = "sbp_fake_0123456789abcdef0123456789abcdef01234567";

const ROUTE = /^\/v1\/projects\/([^/]+)(\/upgrade\/eligibility|\/upgrade\/status)?\/?$/;

function projectBody(ref: string, project: FakeSupabaseProject): Record<string, unknown> {
  const database =
    project.database === undefined
      ? { host: `db.${ref}.supabase.co`, version: "15.6.1.143", postgres_engine: "15", release_channel: "ga" }
      : project.database;
  return {
    id: ref,
    ref,
    organization_id: "fakeorganization",
    name: `fake ${ref}`,
    region: "eu-central-1",
    created_at: "2024-01-01T00:00:00.000Z",
    status: project.status ?? "ACTIVE_HEALTHY",
    ...(database === null ? {} : { database }),
  };
}

function eligibilityBody(project: FakeSupabaseProject): Record<string, unknown> {
  return (
    project.eligibility ?? {
      eligible: false,
      current_app_version: "supabase-postgres-15.6.1.143",
      current_app_version_release_channel: "ga",
      latest_app_version: "supabase-postgres-15.6.1.143",
      target_upgrade_versions: [],
      duration_estimate_hours: 1,
      legacy_auth_custom_roles: [],
      objects_to_be_dropped: [],
      unsupported_extensions: [],
      user_defined_objects_in_internal_schemas: [],
    }
  );
}

const MESSAGES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden resource",
  404: "Not Found",
  409: "Conflict",
  429: "Too many requests",
  500: "Internal server error",
  503: "Service unavailable",
};

export async function startFakeSupabase(options: FakeSupabaseOptions = {}): Promise<FakeSupabase> {
  const token = options.token ?? DEFAULT_FAKE_SUPABASE_TOKEN;
  const projects = new Map(Object.entries(options.projects ?? {}));
  const requests: FakeSupabaseRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = req.url ?? "/";
      const pathname = new URL(path, "http://127.0.0.1").pathname;
      const match = ROUTE.exec(pathname);
      const ref = match?.[1];
      const endpoint: FakeSupabaseEndpoint | undefined =
        match === null
          ? undefined
          : match[2] === "/upgrade/eligibility"
            ? "eligibility"
            : match[2] === "/upgrade/status"
              ? "status"
              : "project";
      const record: FakeSupabaseRequest = {
        method: req.method ?? "",
        path,
        authorization: req.headers.authorization,
        endpoint,
        ref,
        status: 0,
        at: Date.now(),
      };
      requests.push(record);
      // Drain any request body; these are all GETs.
      req.resume();

      const send = (status: number, body: unknown, raw?: string) => {
        if (res.destroyed || closed) return;
        record.status = status;
        res.writeHead(status, {
          "content-type": raw === undefined ? "application/json; charset=utf-8" : "text/html",
        });
        res.end(raw ?? JSON.stringify(body));
      };
      const fail = (status: number) => send(status, { message: MESSAGES[status] ?? `HTTP ${status}` });

      if (req.method !== "GET" || endpoint === undefined || ref === undefined) return fail(404);
      // Like the real API: authentication is checked before the project is looked up.
      if (req.headers.authorization !== `Bearer ${token}`) return fail(401);
      const project = projects.get(ref);
      if (!project) return fail(404);

      const delay = project.delayMs?.[endpoint] ?? 0;
      if (delay > 0) await sleep(delay);
      const forced = project.httpStatus?.[endpoint];
      if (forced !== undefined) return fail(forced);
      const raw = project.rawBody?.[endpoint];
      if (raw !== undefined) return send(200, undefined, raw);
      if (endpoint === "project") return send(200, projectBody(ref, project));
      if (endpoint === "eligibility") return send(200, eligibilityBody(project));
      return send(200, project.upgradeStatus ?? { databaseUpgradeStatus: null });
    })().catch((error: unknown) => answerFakeError(res, "fake supabase", error));
  });

  const port = await listenLocal(server);

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    setProject: (ref, project) => {
      projects.set(ref, project);
    },
    removeProject: (ref) => {
      projects.delete(ref);
    },
    reset: () => {
      requests.length = 0;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
