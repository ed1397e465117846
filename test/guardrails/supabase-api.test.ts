import net from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DbBackupError } from "../../src/errors.js";
import { readUpgradeState, type SupabaseApiOptions } from "../../src/guardrails/supabase-api.js";
import { type FakeSupabase, startFakeSupabase } from "../helpers/fake-supabase.js";

const HEALTHY = "abcdefghijklmnopqrst";
const AVAILABLE = "availableupgradeproj";
const UPGRADING = "upgradingprojectrefx";
const UNKNOWN = "nosuchprojectrefhere";
const WRONG_TOKEN = "sbp_wrong_feedfacefeedfacefeedfacefeedface0000";

/** Every text a thrown error could show or log, its cause chain included. */
function everyText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    parts.push(String(current));
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? "");
      if (current instanceof DbBackupError) parts.push(current.hint, current.code);
      parts.push(JSON.stringify(current, Object.getOwnPropertyNames(current)));
      current = current.cause;
    } else {
      current = undefined;
    }
  }
  return parts.join("\n");
}

async function failure(promise: Promise<unknown>): Promise<DbBackupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DbBackupError);
  return error as DbBackupError;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("readUpgradeState against a fake Management API", () => {
  let fake: FakeSupabase;
  let options: SupabaseApiOptions;

  beforeAll(async () => {
    fake = await startFakeSupabase({
      projects: {
        [HEALTHY]: {},
        [AVAILABLE]: {
          // No database block: the version then comes from the eligibility answer.
          database: null,
          eligibility: {
            eligible: true,
            current_app_version: "supabase-postgres-15.6.1.143",
            current_app_version_release_channel: "ga",
            latest_app_version: "supabase-postgres-17.4.1.054",
            // Deliberately not highest-first.
            target_upgrade_versions: [
              { postgres_version: "15", release_channel: "ga", app_version: "supabase-postgres-15.8.1.085" },
              { postgres_version: "17", release_channel: "ga", app_version: "supabase-postgres-17.4.1.054" },
              { postgres_version: "17", release_channel: "ga", app_version: "supabase-postgres-17.4.1.009" },
            ],
            duration_estimate_hours: 1,
            potential_breaking_changes: [],
            some_field_added_later: { nested: true },
          },
        },
        [UPGRADING]: {
          status: "UPGRADING",
          eligibility: {
            eligible: false,
            current_app_version: "supabase-postgres-15.6.1.143",
            target_upgrade_versions: [],
          },
          upgradeStatus: {
            databaseUpgradeStatus: {
              initiated_at: "2025-06-01T02:00:00.000Z",
              latest_status_at: "2025-06-01T02:03:00.000Z",
              target_version: 17,
              status: 0,
              progress: "5_initiated_data_upgrade",
            },
          },
        },
      },
    });
  });

  afterAll(async () => {
    await fake.close();
  });

  beforeEach(() => {
    fake.reset();
    options = { apiUrl: fake.url, token: fake.token };
  });

  it("reads a healthy project with no upgrade offered, with the token on every request", async () => {
    const state = await readUpgradeState(options, HEALTHY);
    expect(state).toEqual({
      ref: HEALTHY,
      projectStatus: "ACTIVE_HEALTHY",
      currentVersion: "15.6.1.143",
      upgradeAvailable: false,
      targetVersion: null,
      upgradeRunning: false,
    });
    expect(fake.requests.map((r) => [r.method, r.path, r.authorization, r.status])).toEqual([
      ["GET", `/v1/projects/${HEALTHY}`, `Bearer ${fake.token}`, 200],
      ["GET", `/v1/projects/${HEALTHY}/upgrade/eligibility`, `Bearer ${fake.token}`, 200],
      ["GET", `/v1/projects/${HEALTHY}/upgrade/status`, `Bearer ${fake.token}`, 200],
    ]);
  });

  it("reports an available upgrade and the highest offered target", async () => {
    const state = await readUpgradeState(options, AVAILABLE);
    expect(state).toEqual({
      ref: AVAILABLE,
      projectStatus: "ACTIVE_HEALTHY",
      currentVersion: "15.6.1.143",
      upgradeAvailable: true,
      targetVersion: "17.4.1.054",
      upgradeRunning: false,
    });
  });

  it("is not 'available' when eligible but nothing is offered", async () => {
    fake.setProject("eligiblebutnotargets", {
      eligibility: { eligible: true, current_app_version: "supabase-postgres-15.6.1.143" },
    });
    const state = await readUpgradeState(options, "eligiblebutnotargets");
    expect(state.upgradeAvailable).toBe(false);
    expect(state.targetVersion).toBeNull();
  });

  it("reports a running upgrade from the project status", async () => {
    const state = await readUpgradeState(options, UPGRADING);
    expect(state).toMatchObject({
      projectStatus: "UPGRADING",
      upgradeRunning: true,
      upgradeAvailable: false,
    });
  });

  it("reports a running upgrade from the upgrade status alone, and not a finished or failed one", async () => {
    const status = (value: number) => ({
      databaseUpgradeStatus: {
        initiated_at: "2025-06-01T02:00:00.000Z",
        latest_status_at: "2025-06-01T02:03:00.000Z",
        target_version: 17,
        status: value,
      },
    });
    fake.setProject("statussaysupgradingx", { upgradeStatus: status(0) });
    fake.setProject("statussaysupgradedxx", { upgradeStatus: status(1) });
    fake.setProject("statussaysfailedxxxx", {
      upgradeStatus: { ...status(2), error: "8_upgrade_completion_failed" },
    });
    expect((await readUpgradeState(options, "statussaysupgradingx")).upgradeRunning).toBe(true);
    expect((await readUpgradeState(options, "statussaysupgradedxx")).upgradeRunning).toBe(false);
    expect((await readUpgradeState(options, "statussaysfailedxxxx")).upgradeRunning).toBe(false);
  });

  it("refuses a wrong token with a clear message that never contains the token", async () => {
    const error = await failure(readUpgradeState({ ...options, token: WRONG_TOKEN }, HEALTHY));
    expect(error.code).toBe("supabase_auth");
    expect(error.message).toContain("Supabase refused SUPABASE_ACCESS_TOKEN (401)");
    expect(error.hint).toContain("supabase.com/dashboard/account/tokens");
    const text = everyText(error);
    expect(text).not.toContain(WRONG_TOKEN);
    expect(text).not.toContain(fake.token);
    // It stopped at the first refusal, and did send the (wrong) token.
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.authorization).toBe(`Bearer ${WRONG_TOKEN}`);
  });

  it("treats 403 as an auth problem too", async () => {
    fake.setProject("forbiddenprojectrefx", { httpStatus: { project: 403 } });
    const error = await failure(readUpgradeState(options, "forbiddenprojectrefx"));
    expect(error.code).toBe("supabase_auth");
    expect(error.message).toContain("(403)");
    expect(everyText(error)).not.toContain(fake.token);
  });

  it("names an unknown ref in the not-found error", async () => {
    const error = await failure(readUpgradeState(options, UNKNOWN));
    expect(error.code).toBe("supabase_not_found");
    expect(error.message).toContain(UNKNOWN);
    expect(error.hint).toBeTruthy();
    expect(fake.requests).toHaveLength(1);
  });

  it("refuses a malformed ref before making any request", async () => {
    for (const ref of [
      "",
      "short",
      "ABCDEFGHIJKLMNOPQRST",
      "abcdefghijklmnopqrs1",
      "abcdefghijklmnopqrstu",
      "../../v1/x",
    ]) {
      const error = await failure(readUpgradeState(options, ref));
      expect(error.code).toBe("config_invalid");
      expect(error.hint).toContain("supabase.com/dashboard/project/");
    }
    // The token pasted where the ref goes is refused without being echoed.
    const pasted = await failure(readUpgradeState(options, fake.token));
    expect(pasted.code).toBe("config_invalid");
    expect(everyText(pasted)).not.toContain(fake.token);
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses an empty or multi-line token before any request, without echoing it", async () => {
    const empty = await failure(readUpgradeState({ ...options, token: "" }, HEALTHY));
    expect(empty.code).toBe("config_invalid");
    const broken = `${fake.token}\n`;
    const multiLine = await failure(readUpgradeState({ ...options, token: broken }, HEALTHY));
    expect(multiLine.code).toBe("config_invalid");
    expect(everyText(multiLine)).not.toContain(fake.token);
    expect(fake.requests).toHaveLength(0);
  });

  it("says unreachable, naming the host and not the token, when nothing listens", async () => {
    const port = await closedPort();
    const error = await failure(
      readUpgradeState({ apiUrl: `http://127.0.0.1:${port}`, token: fake.token }, HEALTHY),
    );
    expect(error.code).toBe("supabase_unreachable");
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(everyText(error)).not.toContain(fake.token);
  });

  it("gives up on a slow endpoint after timeoutMs", async () => {
    fake.setProject("slowprojectrefxxxxxx", { delayMs: { eligibility: 10_000 } });
    const started = Date.now();
    const error = await failure(readUpgradeState({ ...options, timeoutMs: 200 }, "slowprojectrefxxxxxx"));
    const elapsed = Date.now() - started;
    expect(error.code).toBe("supabase_unreachable");
    expect(error.message).toContain("200 ms");
    expect(error.message).toContain(new URL(fake.url).host);
    expect(elapsed).toBeLessThan(3_000);
    expect(everyText(error)).not.toContain(fake.token);
  });

  it("rethrows the caller's abort reason instead of blaming Supabase", async () => {
    fake.setProject("abortedprojectrefxxx", { delayMs: { project: 10_000 } });
    const controller = new AbortController();
    const reason = new Error("job cancelled");
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      readUpgradeState({ ...options, signal: controller.signal }, "abortedprojectrefxxx"),
    ).rejects.toBe(reason);
  });

  it("answers upgradeAvailable=false when eligibility is refused with another 4xx", async () => {
    fake.setProject("cannotupgradebyapixx", { httpStatus: { eligibility: 400, status: 400 } });
    const state = await readUpgradeState(options, "cannotupgradebyapixx");
    expect(state).toMatchObject({ upgradeAvailable: false, targetVersion: null, upgradeRunning: false });
    expect(state.currentVersion).toBe("15.6.1.143");
  });

  it("does not swallow auth, not-found or rate limits on the eligibility endpoint", async () => {
    fake.setProject("eligibilityforbidden", { httpStatus: { eligibility: 403 } });
    fake.setProject("eligibilityratelimit", { httpStatus: { eligibility: 429 } });
    expect((await failure(readUpgradeState(options, "eligibilityforbidden"))).code).toBe("supabase_auth");
    expect((await failure(readUpgradeState(options, "eligibilityratelimit"))).code).toBe(
      "supabase_rate_limited",
    );
  });

  it("reports a rate limit and a server error by their own codes", async () => {
    fake.setProject("ratelimitedprojectxx", { httpStatus: { project: 429 } });
    fake.setProject("servererrorprojectxx", { httpStatus: { project: 503 } });
    const limited = await failure(readUpgradeState(options, "ratelimitedprojectxx"));
    expect(limited.code).toBe("supabase_rate_limited");
    const down = await failure(readUpgradeState(options, "servererrorprojectxx"));
    expect(down.code).toBe("supabase_api");
    expect(down.message).toContain("503");
    expect(down.message).toContain("Service unavailable");
  });

  it("reports an unparseable or unexpected body as supabase_api", async () => {
    fake.setProject("htmlinsteadofjsonxxx", { rawBody: { project: "<html>captive portal</html>" } });
    fake.setProject("wrongshapeprojectxxx", {
      eligibility: { eligible: "yes", target_upgrade_versions: "17" },
    });
    const html = await failure(readUpgradeState(options, "htmlinsteadofjsonxxx"));
    expect(html.code).toBe("supabase_api");
    const shape = await failure(readUpgradeState(options, "wrongshapeprojectxxx"));
    expect(shape.code).toBe("supabase_api");
    expect(shape.message).toContain("upgrade eligibility");
  });

  it("only ever talks to the fake, and only with GETs to the three endpoints", async () => {
    await readUpgradeState(options, AVAILABLE);
    await readUpgradeState(options, UPGRADING);
    for (const request of fake.requests) {
      expect(request.method).toBe("GET");
      expect(request.endpoint).toBeDefined();
    }
    expect(fake.requests).toHaveLength(6);
  });
});
