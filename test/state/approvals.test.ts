import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApprovalStore } from "../../src/state/approvals.js";
import { stateOf } from "../helpers/state.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-approvals-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const T0 = new Date("2026-11-23T20:00:00.000Z");
const rules = {
  approvers: new Set(["UALICE", "UBOB", "UCAROL", ...Array.from({ length: 20 }, (_, i) => `UAPP${i}`)]),
  minApprovers: 1,
};

async function request(store: ApprovalStore, requestedBy = "UREQ") {
  return store.create({
    env: "prod",
    label: "pre-upgrade",
    reason: null,
    requestedBy,
    ttlMs: 30 * 60_000,
    now: T0,
  });
}

describe("prod approvals", () => {
  it("lets an approver approve, once, and records who and when", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    const d = await store.decide(a.id, "UALICE", "approve", rules, new Date(T0.getTime() + 60_000));
    expect(d.outcome).toBe("approved");
    expect(await store.get(a.id)).toMatchObject({
      status: "approved",
      decidedBy: "UALICE",
      decidedAt: "2026-11-23T20:01:00.000Z",
    });
  });

  it("never lets the requester approve their own, even an approver", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store, "UALICE");
    const d = await store.decide(a.id, "UALICE", "approve", rules, T0);
    expect(d).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/someone else has to approve/),
    });
    expect((await store.get(a.id))?.status).toBe("pending");
  });

  it("refuses a non-approver", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    expect(await store.decide(a.id, "UMALLORY", "approve", rules, T0)).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/not one of the approvers/),
    });
  });

  it("refuses an expired request, and the sweeper marks it expired", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    const late = new Date(T0.getTime() + 31 * 60_000);
    expect(await store.decide(a.id, "UALICE", "approve", rules, late)).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/expired/),
    });
    const swept = await store.expire(late);
    expect(swept.map((s) => s.id)).toEqual([a.id]);
    expect((await store.get(a.id))?.status).toBe("expired");
  });

  it("can't revive a denied request", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    expect((await store.decide(a.id, "UBOB", "deny", rules, T0)).outcome).toBe("denied");
    const again = await store.decide(a.id, "UALICE", "approve", rules, T0);
    expect(again).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/already denied by <@UBOB>/),
    });
  });

  it("needs distinct approvers when two are required", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    const two = { ...rules, minApprovers: 2 };
    expect(await store.decide(a.id, "UALICE", "approve", two, T0)).toMatchObject({
      outcome: "recorded",
      needed: 1,
    });
    expect((await store.decide(a.id, "UALICE", "approve", two, T0)).outcome).toBe("refused");
    expect((await store.decide(a.id, "UBOB", "approve", two, T0)).outcome).toBe("approved");
  });

  it("turns 20 simultaneous approvals into exactly one approved", async () => {
    const store = new ApprovalStore(stateOf(root));
    const a = await request(store);
    const clicks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.decide(a.id, `UAPP${i}`, "approve", rules, T0)),
    );
    expect(clicks.filter((c) => c.outcome === "approved")).toHaveLength(1);
    expect(clicks.filter((c) => c.outcome === "refused")).toHaveLength(19);
    expect(clicks.find((c) => c.outcome === "refused")).toMatchObject({
      reason: expect.stringMatching(/already approved by <@UAPP/),
    });
  });

  it("survives a restart: a pending request read back by a new store still works", async () => {
    const a = await request(new ApprovalStore(stateOf(root)));
    const reopened = new ApprovalStore(stateOf(root));
    expect((await reopened.decide(a.id, "UBOB", "approve", rules, T0)).outcome).toBe("approved");
    const file = JSON.parse(readFileSync(path.join(root, ".state", "approvals.json"), "utf8")) as {
      approvals: unknown[];
    };
    expect(file.approvals).toHaveLength(1);
  });

  it("says the file is damaged rather than guessing", async () => {
    const store = new ApprovalStore(stateOf(root));
    await request(store);
    writeFileSync(path.join(root, ".state", "approvals.json"), JSON.stringify({ approvals: [{ id: 1 }] }));
    await expect(store.get("x")).rejects.toThrow(/approvals\.json is damaged/);
  });
});
