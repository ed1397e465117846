import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentInstance } from "../../src/state/instance.js";
import { updateDoc } from "../../src/state/store.js";
import { counterDoc, distModule, runNodeScript, stateOf } from "../helpers/state.js";

/** The state layer under real concurrency: in one process, across processes, and across a kill -9. */

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-state-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A script for another process: `count` increments of the counter document, each one change. */
function incrementer(count: number, tag: string): string {
  return `
    const { stateFor } = await import(${JSON.stringify(distModule("state/open"))});
    const { updateDoc } = await import(${JSON.stringify(distModule("state/store"))});
    const { z } = await import("zod/v3");
    const doc = { name: "counter", schema: z.object({ n: z.number(), by: z.array(z.string()) }), empty: () => ({ n: 0, by: [] }) };
    const state = stateFor({ backupsDir: ${JSON.stringify(root)}, leaseMs: 60000 });
    await Promise.all(Array.from({ length: ${count} }, () =>
      updateDoc(state, doc, (c) => ({ next: { n: c.n + 1, by: [...c.by, ${JSON.stringify(tag)}] }, result: undefined }))));
    process.stdout.write("done");
  `;
}

describe("documents: every change is a compare-and-set", () => {
  it("200 changes at once in one process: none lost", async () => {
    const state = stateOf(root);
    await Promise.all(
      Array.from({ length: 200 }, () =>
        updateDoc(state, counterDoc, (c) => ({ next: { n: c.n + 1, by: c.by }, result: undefined })),
      ),
    );
    expect((await state.read(counterDoc)).n).toBe(200);
  });

  it("two processes and this one, 150 changes each at once: none lost, and a reader never sees a torn file", async () => {
    const state = stateOf(root);
    const children = [runNodeScript(incrementer(150, "a")), runNodeScript(incrementer(150, "b"))];
    const ours = Promise.all(
      Array.from({ length: 150 }, () =>
        updateDoc(state, counterDoc, (c) => ({
          next: { n: c.n + 1, by: [...c.by, "c"] },
          result: undefined,
        })),
      ),
    );
    let reads = 0;
    let finished = false;
    const all = Promise.all([...children, ours]).finally(() => {
      finished = true;
    });
    // Read the file directly, as `cat` would, for as long as the writers write.
    const file = path.join(root, ".state", "counter.json");
    while (!finished && reads < 100_000) {
      try {
        counterDoc.schema.parse(JSON.parse(readFileSync(file, "utf8")));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await all;
    const final = await state.read(counterDoc);
    expect(final.n).toBe(450);
    for (const tag of ["a", "b", "c"]) expect(final.by.filter((t) => t === tag)).toHaveLength(150);
    expect(reads).toBeGreaterThan(0);
    // No temporary file is left behind, and none was shared between writers.
    expect(readdirSync(path.join(root, ".state")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("writes nothing when the change throws", async () => {
    const state = stateOf(root);
    await updateDoc(state, counterDoc, () => ({ next: { n: 1, by: [] }, result: undefined }));
    await expect(
      state.transact(async (tx) => {
        await tx.write(counterDoc, { n: 99, by: [] });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect((await state.read(counterDoc)).n).toBe(1);
  });

  it("names a damaged document and how to start afresh, rather than guessing", async () => {
    const state = stateOf(root);
    mkdirSync(path.join(root, ".state"), { recursive: true });
    writeFileSync(path.join(root, ".state", "counter.json"), "{ half a docu");
    await expect(state.read(counterDoc)).rejects.toThrow(/counter\.json is damaged \(not JSON\)/);
    await expect(
      updateDoc(state, counterDoc, () => ({ next: { n: 1, by: [] }, result: undefined })),
    ).rejects.toMatchObject({ code: "state_damaged", hint: expect.stringContaining("Move it aside") });
  });
});

describe("the cross-process mutex survives its holder's death", () => {
  /** Another process that enters a change and never leaves it, until killed. */
  async function holderStuckInside() {
    const script = `
      const { stateFor } = await import(${JSON.stringify(distModule("state/open"))});
      const state = stateFor({ backupsDir: ${JSON.stringify(root)}, leaseMs: 60000 });
      await state.transact(async () => { process.stdout.write("inside\\n"); await new Promise(() => setInterval(() => {}, 1000)); });
    `;
    const child = execa("node", ["--input-type=module", "-e", script], { reject: false, buffer: false });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once("data", () => resolve());
      child.once("exit", () => reject(new Error("the holder exited early")));
    });
    // Wrapped: returning the child itself from an async function would wait for it to exit.
    return { child };
  }

  it("a holder killed -9 inside a change on this machine: the next change goes through at once", async () => {
    const { child } = await holderStuckInside();
    child.kill("SIGKILL");
    await child;
    const t0 = Date.now();
    await updateDoc(stateOf(root), counterDoc, (c) => ({
      next: { n: c.n + 1, by: c.by },
      result: undefined,
    }));
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("a holder that can't be seen from here (another container) is waited out until its hold expires", async () => {
    // What a holder in another PID namespace leaves: no boot or namespace to compare, a 1.5 s hold.
    const dir = path.join(root, ".state", "mutex");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, "000000000007"),
      JSON.stringify({
        state: "held",
        instance: "ffffffffffffffff",
        pid: 1,
        host: "other-container",
        bootId: null,
        pidNamespace: null,
        processStart: null,
        expiresAt: Date.now() + 1_500,
      }),
    );
    const t0 = Date.now();
    await updateDoc(stateOf(root), counterDoc, (c) => ({
      next: { n: c.n + 1, by: c.by },
      result: undefined,
    }));
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(10_000);
    // The expired hold was replaced by a newer one, and cleaned up.
    expect(readdirSync(dir).filter((n) => /^\d{12}$/.test(n))).toEqual(["000000000008"]);
  });
});

describe("request claims (replays)", () => {
  it("the same key claimed by two processes and this one, 30 times each at once: exactly one wins", async () => {
    const script = `
      const { stateFor } = await import(${JSON.stringify(distModule("state/open"))});
      const state = stateFor({ backupsDir: ${JSON.stringify(root)}, leaseMs: 60000 });
      const won = await Promise.all(Array.from({ length: 30 }, () => state.claimOnce("slack:123:v0=abc", 600000)));
      process.stdout.write(String(won.filter(Boolean).length));
    `;
    const state = stateOf(root);
    const [a, b, ours] = await Promise.all([
      runNodeScript(script),
      runNodeScript(script),
      Promise.all(Array.from({ length: 30 }, () => state.claimOnce("slack:123:v0=abc", 600_000))),
    ]);
    expect(Number(a) + Number(b) + ours.filter(Boolean).length).toBe(1);
    expect(await state.claimOnce("slack:124:v0=abc", 600_000)).toBe(true);
  });

  it("a claim another process has created but not yet dated counts as seen, not as expired", async () => {
    const state = stateOf(root);
    // The moment between another claimer's exclusive create and its write of the expiry.
    const seen = path.join(state.location, "seen");
    mkdirSync(seen, { recursive: true });
    writeFileSync(path.join(seen, createHash("sha256").update("slack:125:v0=abc").digest("hex")), "");
    expect(await state.claimOnce("slack:125:v0=abc", 600_000)).toBe(false);
  });

  it("an expired claim is swept, and its key may be used again", async () => {
    const state = stateOf(root);
    expect(await state.claimOnce("k", 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(await state.sweepClaims()).toBe(1);
    expect(await state.claimOnce("k", 60_000)).toBe(true);
    expect(await state.claimOnce("k", 60_000)).toBe(false);
  });
});

describe("instances", () => {
  it("this process's lease says it runs; a clean stop removes it, so nobody waits for it", async () => {
    const state = stateOf(root);
    state.holdLease("test");
    const me = currentInstance().id;
    expect((await state.liveness(me)).state).toBe("running");
    await state.close();
    expect((await state.liveness(me)).state).toBe("dead");
  });

  it("a process killed -9 on this machine is dead at once, though its lease has a minute left", async () => {
    const script = `
      const { stateFor } = await import(${JSON.stringify(distModule("state/open"))});
      const state = stateFor({ backupsDir: ${JSON.stringify(root)}, leaseMs: 60000 });
      state.holdLease("victim");
      process.stdout.write(state.instance().id + "\\n");
      setInterval(() => {}, 1000);
    `;
    const child = execa("node", ["--input-type=module", "-e", script], { reject: false, buffer: false });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout?.once("data", (c: Buffer) => resolve(c.toString().trim()));
      child.once("exit", () => reject(new Error("exited early")));
    });
    const state = stateOf(root);
    expect((await state.liveness(id)).state).toBe("running");
    child.kill("SIGKILL");
    await child;
    expect(await state.liveness(id)).toMatchObject({
      state: "dead",
      why: expect.stringMatching(/its process \(pid \d+\) is gone/),
    });
  });
});
