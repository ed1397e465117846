import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { z } from "zod/v3";
import type { LeaseRecord } from "../../src/state/instance.js";
import { type LockRecord, locksDoc } from "../../src/state/locks.js";
import { stateFor } from "../../src/state/open.js";
import { type DocSpec, type StateStore, updateDoc } from "../../src/state/store.js";
import { REPO } from "./cli.js";

/** A document for concurrency tests: a counter and who incremented it, a tag per increment. */
export const counterDoc: DocSpec<{ n: number; by: string[] }> = {
  name: "counter",
  schema: z.object({ n: z.number(), by: z.array(z.string()) }),
  empty: () => ({ n: 0, by: [] }),
};

/** The state store of a test's backups folder, as the CLI and the bot open it. */
export function stateOf(root: string, leaseMs = 60_000): StateStore {
  return stateFor({ backupsDir: root, leaseMs });
}

/**
 * An instance of another process, as its lease file says: `alive` renews on another host (nothing
 * here can see its process), otherwise it left no lease at all (killed long ago, or cleaned up).
 */
export function otherInstance(
  root: string,
  alive: boolean,
  host = "elsewhere",
): { id: string; host: string } {
  const id = randomBytes(8).toString("hex");
  if (alive) {
    const now = Date.now();
    const record: LeaseRecord = {
      id,
      pid: 1,
      host,
      startedAt: new Date(now - 60_000).toISOString(),
      bootId: null,
      pidNamespace: null,
      processStart: null,
      role: "test",
      renewedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 3_600_000).toISOString(),
      leaseMs: 3_600_000,
      renewMs: 900_000,
    };
    const dir = path.join(root, ".state", "instances");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(record));
  }
  return { id, host };
}

/** Records a lock as held by another instance (alive or dead), through the real state store. */
export async function foreignLock(
  root: string,
  name: string,
  fields: { alive: boolean; what: string; requestedBy?: string; startedAt?: string },
): Promise<LockRecord> {
  const holder = otherInstance(root, fields.alive);
  const record: LockRecord = {
    name,
    instance: holder.id,
    pid: 1,
    host: holder.host,
    jobId: randomBytes(4).toString("hex"),
    requestedBy: fields.requestedBy ?? "bob",
    startedAt: fields.startedAt ?? "2026-11-23T22:00:00.000Z",
    what: fields.what,
  };
  await updateDoc(stateOf(root), locksDoc, (doc) => ({
    next: { locks: { ...doc.locks, [name]: record } },
    result: undefined,
  }));
  return record;
}

/** The built module `src/<rel>` (dist/src/<rel>.js), for scripts run in other processes. */
export function distModule(rel: string): string {
  return pathToFileURL(path.join(REPO, "dist", "src", `${rel}.js`)).href;
}

/** Runs an ES module script in a new node process (it may import distModule(...)); resolves with its stdout. */
export async function runNodeScript(script: string, timeoutMs = 60_000): Promise<string> {
  const r = await execa("node", ["--input-type=module", "-e", script], {
    timeout: timeoutMs,
    stdin: "ignore",
  });
  return r.stdout;
}

export interface LockHolderProcess {
  pid: number;
  /** kill -9: the holder dies without letting go. */
  kill(): Promise<void>;
}

/**
 * Another process (node, through the built state layer) that takes lock `name` in `root`'s state and
 * holds it until killed: a real second holder, with its own instance and lease.
 */
export async function holdLockInAnotherProcess(
  root: string,
  name: string,
  what: string,
): Promise<LockHolderProcess> {
  const locks = distModule("state/locks");
  const open = distModule("state/open");
  const script = `
    const { tryLock } = await import(${JSON.stringify(locks)});
    const { stateFor } = await import(${JSON.stringify(open)});
    const state = stateFor({ backupsDir: ${JSON.stringify(root)}, leaseMs: 60000 });
    const a = await tryLock(state, { name: ${JSON.stringify(name)}, jobId: "holder1", requestedBy: "holder", what: ${JSON.stringify(what)} });
    process.stdout.write("held" in a ? "held\\n" : "refused\\n");
    setInterval(() => {}, 1000);
  `;
  const child = execa("node", ["--input-type=module", "-e", script], {
    reject: false,
    buffer: false,
    stdin: "ignore",
  });
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once("exit", () => reject(new Error("the lock holder exited early")));
  });
  if (first !== "held" || child.pid === undefined) throw new Error(`the lock holder said ${first}`);
  return {
    pid: child.pid,
    async kill() {
      child.kill("SIGKILL");
      await child;
    },
  };
}
