import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LeaseRecord } from "../../src/state/instance.js";
import {
  acquireLock,
  listLocks,
  locksDoc,
  orphansDoc,
  sweepDeadLocks,
  tryLock,
  type WaitNotice,
} from "../../src/state/locks.js";
import { updateDoc } from "../../src/state/store.js";
import { foreignLock, holdLockInAnotherProcess, stateOf } from "../helpers/state.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-locks-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const request = {
  name: "backup:staging",
  jobId: "j0b1d000",
  requestedBy: "alice",
  what: "20261129_100000_staging",
};

/** A holder in another container: its lease is all anyone here can go by. */
function leaseElsewhere(id: string, renewedAgoMs: number, expiresInMs: number): void {
  const now = Date.now();
  const record: LeaseRecord = {
    id,
    pid: 1,
    host: "container-a",
    startedAt: new Date(now - 600_000).toISOString(),
    bootId: null,
    pidNamespace: null,
    processStart: null,
    role: "bot",
    renewedAt: new Date(now - renewedAgoMs).toISOString(),
    expiresAt: new Date(now + expiresInMs).toISOString(),
    leaseMs: 4_000,
    renewMs: 1_000,
  };
  mkdirSync(path.join(root, ".state", "instances"), { recursive: true });
  writeFileSync(path.join(root, ".state", "instances", `${id}.json`), JSON.stringify(record));
}

async function heldBy(instance: string): Promise<void> {
  await updateDoc(stateOf(root), locksDoc, (doc) => ({
    next: {
      locks: {
        ...doc.locks,
        [request.name]: {
          ...request,
          instance,
          pid: 1,
          host: "container-a",
          jobId: "deadjob1",
          startedAt: "2026-11-29T09:00:00.000Z",
        },
      },
    },
    result: undefined,
  }));
}

describe("locks held by instances", () => {
  it("a free lock is taken; a second ask in this process is refused (this process is running)", async () => {
    const state = stateOf(root);
    const first = await tryLock(state, request);
    expect("held" in first).toBe(true);
    const second = await tryLock(state, { ...request, jobId: "other" });
    expect(second).toMatchObject({ holder: { jobId: "j0b1d000" }, liveness: { state: "running" } });
    if ("held" in first) await first.held.release();
    expect("held" in (await tryLock(state, request))).toBe(true);
  });

  it("a lock held by another live process is refused; killed -9, it is taken over at once, and its run remembered", async () => {
    const holder = await holdLockInAnotherProcess(root, request.name, "someone else's backup");
    const state = stateOf(root);
    const refused = await acquireLock(state, request);
    expect(refused).toMatchObject({
      holder: { pid: holder.pid, requestedBy: "holder" },
      liveness: { state: "running" },
    });
    await holder.kill();
    const taken = await acquireLock(state, request);
    if (!("held" in taken)) throw new Error("not taken over");
    expect(taken.held.tookOverFrom).toMatchObject({
      record: { jobId: "holder1", what: "someone else's backup" },
      why: expect.stringMatching(/its process \(pid \d+\) is gone/),
    });
    // Its server sessions are found by this later: dbbackup:holder1.
    expect((await state.read(orphansDoc)).runs).toEqual([
      { jobId: "holder1", lock: request.name, since: expect.any(String) },
    ]);
  });

  it("waits out a holder elsewhere that stopped renewing, and takes over when its lease expires", async () => {
    leaseElsewhere("aaaaaaaaaaaaaaaa", 3_000, 1_500);
    await heldBy("aaaaaaaaaaaaaaaa");
    const waits: WaitNotice[] = [];
    const t0 = Date.now();
    const taken = await acquireLock(stateOf(root), request, { onWait: (w) => waits.push(w) });
    expect("held" in taken).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ holder: { host: "container-a" }, liveness: { state: "silent" } });
  });

  it("refuses a holder elsewhere once it is seen renewing its lease", async () => {
    leaseElsewhere("bbbbbbbbbbbbbbbb", 100, 3_000);
    await heldBy("bbbbbbbbbbbbbbbb");
    const renewing = setTimeout(() => leaseElsewhere("bbbbbbbbbbbbbbbb", 0, 4_000), 300);
    try {
      const t0 = Date.now();
      const attempt = await acquireLock(stateOf(root), request);
      expect(attempt).toMatchObject({ holder: { host: "container-a" }, liveness: { state: "renewing" } });
      expect(Date.now() - t0).toBeLessThan(2_500);
    } finally {
      clearTimeout(renewing);
    }
  });

  it("stops waiting when cancelled", async () => {
    leaseElsewhere("cccccccccccccccc", 3_000, 60_000);
    await heldBy("cccccccccccccccc");
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const attempt = await acquireLock(stateOf(root), request, { signal: abort.signal });
    expect("held" in attempt).toBe(false);
  });

  it("a sweep removes only the dead instances' locks", async () => {
    await foreignLock(root, "backup:prod", { alive: true, what: "live" });
    await foreignLock(root, "backup:qa", { alive: false, what: "dead" });
    const state = stateOf(root);
    const removed = await sweepDeadLocks(state);
    expect(removed.map((l) => l.what)).toEqual(["dead"]);
    expect((await listLocks(state)).map((l) => [l.name, l.liveness.state])).toEqual([
      ["backup:prod", "renewing"],
    ]);
  });
});
