import { describe, expect, it } from "vitest";
import { judgeLiveness, type LeaseRecord, type LocalProbe } from "../../src/state/instance.js";

/** How alive a lease holder is: a pure judgement of its lease record and what this machine can see. */

const NOW = Date.parse("2026-11-29T10:00:00.000Z");

function lease(overrides: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    id: "0123456789abcdef",
    pid: 1,
    host: "bot-7f9c",
    startedAt: "2026-11-29T09:00:00.000Z",
    bootId: "boot-a",
    pidNamespace: "pid:[4026531836]",
    processStart: "5000",
    role: "bot",
    renewedAt: new Date(NOW - 5_000).toISOString(),
    expiresAt: new Date(NOW + 55_000).toISOString(),
    leaseMs: 60_000,
    renewMs: 15_000,
    ...overrides,
  };
}

const probe = (processes: Record<number, string>, ns = "pid:[4026531836]"): LocalProbe => ({
  bootId: "boot-a",
  pidNamespace: ns,
  processStartOf: (pid) => processes[pid] ?? null,
});

describe("judgeLiveness", () => {
  it("no lease on record: dead", () => {
    expect(judgeLiveness(undefined, NOW, probe({}))).toMatchObject({ state: "dead" });
  });

  it("an expired lease: dead, whatever its pid is doing", () => {
    const record = lease({ expiresAt: new Date(NOW - 1).toISOString() });
    expect(judgeLiveness(record, NOW, probe({ 1: "5000" }))).toMatchObject({
      state: "dead",
      why: "its lease expired at 09:59:59 UTC",
    });
  });

  it("same boot and PID namespace, the same process (pid and start time): running", () => {
    expect(judgeLiveness(lease(), NOW, probe({ 1: "5000" })).state).toBe("running");
  });

  it("same boot and namespace, pid gone: dead at once, lease or not", () => {
    expect(judgeLiveness(lease(), NOW, probe({}))).toMatchObject({
      state: "dead",
      why: "its process (pid 1) is gone",
    });
  });

  it("same boot and namespace, pid reused by another process (another start time): dead", () => {
    expect(judgeLiveness(lease(), NOW, probe({ 1: "9999" })).state).toBe("dead");
  });

  it("PID 1 in another container (another namespace) is never judged by our pid 1: the lease decides", () => {
    const other = probe({ 1: "5000" }, "pid:[4026532000]");
    expect(judgeLiveness(lease(), NOW, other).state).toBe("renewing");
    const quiet = lease({ renewedAt: new Date(NOW - 40_000).toISOString() });
    expect(judgeLiveness(quiet, NOW, other)).toMatchObject({ state: "silent", silentMs: 40_000 });
  });

  it("a recreated container (new hostname) is judged by the lease alone, never kept alive for good", () => {
    const record = lease({ bootId: null, pidNamespace: null, host: "old-host" });
    expect(judgeLiveness(record, NOW, probe({})).state).toBe("renewing");
    expect(judgeLiveness(record, NOW + 60_000, probe({})).state).toBe("dead");
  });
});
