import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { isDbBackupError } from "../../src/errors.js";
import { ApprovalStore } from "../../src/state/approvals.js";
import { tryLock } from "../../src/state/locks.js";
import { PgStateStore } from "../../src/state/pg-store.js";
import { updateDoc } from "../../src/state/store.js";
import { createDatabase, sql, useTestServer } from "../helpers/postgres.js";
import { counterDoc, distModule, runNodeScript } from "../helpers/state.js";
import { tcpProxy } from "../helpers/tcp-proxy.js";

/** The state in Postgres, under the same real concurrency as the files: in one process, across processes, across kill -9. */

const db = useTestServer(15);
let databases = 0;
/** A fresh state database: nothing migrated yet. */
const freshStateUrl = () => createDatabase(db.server, `state_${++databases}`);
const storeOf = (url: string, leaseMs = 60_000) => new PgStateStore(url, { leaseMs });

/** Another process on the built state layer, opened as the CLI and the bot open it (DBBACKUP_STATE_URL). */
function inAnotherProcess(url: string, body: string): string {
  return `
    const { stateFor } = await import(${JSON.stringify(distModule("state/open"))});
    const { updateDoc } = await import(${JSON.stringify(distModule("state/store"))});
    const { z } = await import("zod/v3");
    const doc = { name: "counter", schema: z.object({ n: z.number(), by: z.array(z.string()) }), empty: () => ({ n: 0, by: [] }) };
    const state = stateFor({ backupsDir: "/nonexistent", leaseMs: 60000, stateUrl: ${JSON.stringify(url)} });
    ${body}
  `;
}

/** A process on the state layer that takes a lock and holds it until killed; resolves once it holds it. */
async function lockHolder(command: string, args: string[]) {
  const holder = execa(command, args, { reject: false, buffer: false, stdin: "ignore" });
  const said = await new Promise<string>((resolve, reject) => {
    holder.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
    holder.once("exit", () => reject(new Error("the holder exited early")));
  });
  expect(said).toBe("held");
  // Wrapped: an execa process is a promise, and returning it from here would await its end.
  return { process: holder };
}

/** A prod backup request by UREQ, open ten minutes (or `ttlMs`). */
const prodRequest = (store: ApprovalStore, label: string, now = new Date(), ttlMs = 600_000) =>
  store.create({ env: "prod", label, reason: null, requestedBy: "UREQ", ttlMs, now });

const increments = (url: string, count: number, tag: string) =>
  inAnotherProcess(
    url,
    `await Promise.all(Array.from({ length: ${count} }, () =>
       updateDoc(state, doc, (c) => ({ next: { n: c.n + 1, by: [...c.by, ${JSON.stringify(tag)}] }, result: undefined }))));
     process.stdout.write("done");`,
  );

describe("state in Postgres: documents, logs, claims", () => {
  it("three replicas starting at once on a new database: the schema is made once, and all of them work", async () => {
    const url = await freshStateUrl();
    const starts = ["a", "b", "c"].map((tag) =>
      runNodeScript(
        inAnotherProcess(url, `await state.read(doc); process.stdout.write(${JSON.stringify(tag)});`),
      ),
    );
    expect((await Promise.all(starts)).sort()).toEqual(["a", "b", "c"]);
    const versions = await sql<{ version: number }>(
      url,
      "select version from dbbackup_migrations order by 1",
    );
    expect(versions).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }]);
  });

  it("two processes and this one, 150 changes each at once: none lost", async () => {
    const url = await freshStateUrl();
    const state = storeOf(url);
    const children = [runNodeScript(increments(url, 150, "a")), runNodeScript(increments(url, 150, "b"))];
    const ours = Promise.all(
      Array.from({ length: 150 }, () =>
        updateDoc(state, counterDoc, (c) => ({
          next: { n: c.n + 1, by: [...c.by, "c"] },
          result: undefined,
        })),
      ),
    );
    await Promise.all([...children, ours]);
    const final = await state.read(counterDoc);
    expect(final.n).toBe(450);
    for (const tag of ["a", "b", "c"]) expect(final.by.filter((t) => t === tag)).toHaveLength(150);
  });

  it("writes nothing when the change throws; names a damaged document and how to start afresh", async () => {
    const url = await freshStateUrl();
    const state = storeOf(url);
    await updateDoc(state, counterDoc, () => ({ next: { n: 1, by: [] }, result: undefined }));
    await expect(
      state.transact(async (tx) => {
        await tx.write(counterDoc, { n: 99, by: [] });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect((await state.read(counterDoc)).n).toBe(1);
    await sql(url, `update dbbackup_docs set value = '{"n": "one"}' where name = 'counter'`);
    await expect(state.read(counterDoc)).rejects.toMatchObject({
      code: "state_damaged",
      message: expect.stringContaining("counter"),
      hint: expect.stringContaining("delete that row"),
    });
  });

  it("20 Approve clicks at once, from this process and two others: exactly one approves", async () => {
    const url = await freshStateUrl();
    const store = new ApprovalStore(storeOf(url));
    const now = new Date();
    const a = await prodRequest(store, "x", now);
    const approvals = distModule("state/approvals");
    const clicks = (from: number) =>
      inAnotherProcess(
        url,
        `const { ApprovalStore } = await import(${JSON.stringify(approvals)});
         const store = new ApprovalStore(state);
         const rules = { approvers: new Set(Array.from({ length: 20 }, (_, i) => "UAPP" + i)), minApprovers: 1 };
         const r = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => store.decide(${JSON.stringify(a.id)}, "UAPP" + (${from} + i), "approve", rules, new Date())));
         process.stdout.write(JSON.stringify(r.map((d) => d.outcome)));`,
      );
    const rules = { approvers: new Set(Array.from({ length: 20 }, (_, i) => `UAPP${i}`)), minApprovers: 1 };
    const [first, second, ours] = await Promise.all([
      runNodeScript(clicks(0)),
      runNodeScript(clicks(6)),
      Promise.all(
        [12, 13, 14, 15, 16, 17, 18, 19].map((i) =>
          store.decide(a.id, `UAPP${i}`, "approve", rules, new Date()),
        ),
      ),
    ]);
    const outcomes = [
      ...(JSON.parse(first) as string[]),
      ...(JSON.parse(second) as string[]),
      ...ours.map((d) => d.outcome),
    ];
    expect(outcomes).toHaveLength(20);
    expect(outcomes.filter((o) => o === "approved")).toHaveLength(1);
  });

  it("an approval is a row of its own: a decision one conditional UPDATE; expiry one UPDATE too", async () => {
    const url = await freshStateUrl();
    const store = new ApprovalStore(storeOf(url));
    const now = new Date();
    const rules = { approvers: new Set(["UAPP1", "UAPP2"]), minApprovers: 2 };
    const a = await prodRequest(store, "x", now);
    const stale = await prodRequest(store, "y", now, 1);
    const rows = await sql<{ id: string; status: string; version: number }>(
      url,
      "select id, status, version from dbbackup_approvals order by requested_at, id",
    );
    expect(rows.map((r) => r.status)).toEqual(["pending", "pending"]);
    expect((await sql(url, "select 1 from dbbackup_docs where name = 'approvals'")).length).toBe(0);
    expect(await store.decide(a.id, "UAPP1", "approve", rules, now)).toMatchObject({
      outcome: "recorded",
      needed: 1,
    });
    expect(await store.decide(a.id, "UAPP1", "approve", rules, now)).toMatchObject({ outcome: "refused" });
    expect(await store.decide(a.id, "UAPP2", "approve", rules, now)).toMatchObject({ outcome: "approved" });
    const [row] = await sql<{ status: string; version: number }>(
      url,
      "select status, version from dbbackup_approvals where id = $1",
      [a.id],
    );
    expect(row).toEqual({ status: "approved", version: 3 });
    const expired = await store.expire(new Date(now.getTime() + 1000));
    expect(expired.map((e) => [e.id, e.status])).toEqual([[stale.id, "expired"]]);
    expect(await store.pending()).toEqual([]);
    expect(await store.decide(stale.id, "UAPP1", "approve", rules, now)).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/already expired/),
    });
  });

  it("approvals a state database kept in one document before move to rows when it is migrated", async () => {
    const url = await freshStateUrl();
    const store = new ApprovalStore(storeOf(url));
    const a = await prodRequest(store, "kept");
    // The database as dbbackup left it before approvals had a table: schema version 3, one document.
    await sql(
      url,
      `insert into dbbackup_docs (name, value)
         select 'approvals', jsonb_build_object('approvals', jsonb_agg(body)) from dbbackup_approvals;
       drop table dbbackup_approvals;
       delete from dbbackup_migrations where version = 4;`,
    );
    const upgraded = new ApprovalStore(storeOf(url));
    expect((await upgraded.pending()).map((p) => [p.id, p.label])).toEqual([[a.id, "kept"]]);
    expect((await sql(url, "select 1 from dbbackup_docs where name = 'approvals'")).length).toBe(0);
  });

  it("the same request claimed 30 times by each of two processes and this one: exactly one wins; expired, it is free again", async () => {
    const url = await freshStateUrl();
    const state = storeOf(url);
    const claims = inAnotherProcess(
      url,
      `const r = await Promise.all(Array.from({ length: 30 }, () => state.claimOnce("request-1", 60000)));
       process.stdout.write(String(r.filter(Boolean).length));`,
    );
    const [a, b, ours] = await Promise.all([
      runNodeScript(claims),
      runNodeScript(claims),
      Promise.all(Array.from({ length: 30 }, () => state.claimOnce("request-1", 60_000))),
    ]);
    expect(Number(a) + Number(b) + ours.filter(Boolean).length).toBe(1);
    expect(await state.claimOnce("short", 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await state.claimOnce("short", 60_000)).toBe(true);
    expect(await state.sweepClaims(Date.now() + 120_000)).toBe(2);
    const stored = await sql<{ key: string }>(url, "select key from dbbackup_claims");
    expect(stored).toEqual([]);
  });

  it("logs are appended by many at once and read back whole, in order", async () => {
    const url = await freshStateUrl();
    const state = storeOf(url);
    await Promise.all(Array.from({ length: 50 }, (_, i) => state.append("audit", { kind: "test", i })));
    const records = (await state.readLog("audit")) as { i: number }[];
    expect(records.map((r) => r.i).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await state.readLog("drills")).toEqual([]);
  });
});

describe("state in Postgres: leases, locks and a database that goes away", () => {
  it("a lock holder killed -9 in another process: this machine sees it dead at once and takes over", async () => {
    const url = await freshStateUrl();
    const { process: holder } = await lockHolder("node", [
      "--input-type=module",
      "-e",
      inAnotherProcess(
        url,
        `const { tryLock } = await import(${JSON.stringify(distModule("state/locks"))});
           const a = await tryLock(state, { name: "env:prod", jobId: "j1", requestedBy: "holder", what: "backup of prod" });
           process.stdout.write("held" in a ? "held\\n" : "refused\\n");
           setInterval(() => {}, 1000);`,
      ),
    ]);
    const state = storeOf(url);
    const refused = await tryLock(state, {
      name: "env:prod",
      jobId: "j2",
      requestedBy: "me",
      what: "backup of prod",
    });
    expect(refused).toMatchObject({ holder: { requestedBy: "holder" } });
    holder.kill("SIGKILL");
    await holder;
    const taken = await tryLock(state, {
      name: "env:prod",
      jobId: "j2",
      requestedBy: "me",
      what: "backup of prod",
    });
    expect("held" in taken).toBe(true);
  });

  it("a holder in another PID namespace is judged by its lease alone (database clock), and taken over once it expires", async () => {
    const url = await freshStateUrl();
    const script = inAnotherProcess(
      url,
      `const { tryLock } = await import(${JSON.stringify(distModule("state/locks"))});
       state.holdLease("test");
       const a = await tryLock(state, { name: "env:prod", jobId: "j1", requestedBy: "holder", what: "backup of prod" });
       process.stdout.write("held" in a ? "held\\n" : "refused\\n");
       setInterval(() => {}, 1000);`,
    ).replace("leaseMs: 60000", "leaseMs: 3000");
    const { process: holder } = await lockHolder("unshare", [
      "--pid",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--uts",
      "node",
      "--input-type=module",
      "-e",
      script,
    ]);
    const state = storeOf(url);
    const [lease] = await sql<{ id: string }>(url, "select id from dbbackup_instances");
    expect((await state.liveness(lease?.id ?? "")).state).toBe("renewing");
    holder.kill("SIGKILL");
    await holder;
    const ask = () =>
      tryLock(state, { name: "env:prod", jobId: "j2", requestedBy: "me", what: "backup of prod" });
    expect("holder" in (await ask())).toBe(true);
    let taken = false;
    for (let i = 0; i < 60 && !taken; i++) {
      await new Promise((r) => setTimeout(r, 200));
      taken = "held" in (await ask());
    }
    expect(taken).toBe(true);
  });

  it("the database goes away mid-run: a clear error without the password, and it works again once it is back", async () => {
    const url = await freshStateUrl();
    const target = new URL(url);
    const proxy = await tcpProxy(Number(target.port));
    const viaProxy = new URL(url);
    viaProxy.port = String(proxy.port);
    viaProxy.password = "s3cret-pass";
    const state = storeOf(viaProxy.href);
    await updateDoc(state, counterDoc, () => ({ next: { n: 1, by: [] }, result: undefined }));
    await proxy.close();
    const error = await updateDoc(state, counterDoc, (c) => ({
      next: { n: c.n + 1, by: [] },
      result: undefined,
    })).catch((e: unknown) => e);
    expect(isDbBackupError(error) && error.code).toBe("state_unreachable");
    expect(String((error as Error).message)).not.toContain("s3cret-pass");
    expect(String((error as Error).message)).toContain(`postgresql://postgres@127.0.0.1:${proxy.port}/`);
    await proxy.reopen();
    await updateDoc(state, counterDoc, (c) => ({ next: { n: c.n + 1, by: [] }, result: undefined }));
    expect((await state.read(counterDoc)).n).toBe(2);
    await proxy.close();
  });
});
