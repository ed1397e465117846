import { afterEach, describe, expect, it } from "vitest";
import { PgStateStore } from "../../src/state/pg-store.js";
import { type QueueWakeups, WAKEUPS_APPLICATION } from "../../src/state/queue-wakeups.js";
import { WorkQueue } from "../../src/state/work-queue.js";
import { connectionsNamed, createDatabase, sql, useTestServer } from "../helpers/postgres.js";
import { waitFor, waitForAsync } from "../helpers/servers.js";
import { tcpProxy } from "../helpers/tcp-proxy.js";

/** Idle workers woken by the enqueue itself (LISTEN/NOTIFY on the state database), polling only the fallback. */

const db = useTestServer(15);
let databases = 0;
/** Far longer than any wake-up may take: a wait that ends sooner was woken. */
const POLL_MS = 30_000;
const opened: QueueWakeups[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.close()));
});

async function setUp(envs: readonly string[] | null = null) {
  const url = await createDatabase(db.server, `wakeups_${++databases}`);
  const queue = new WorkQueue(new PgStateStore(url, { leaseMs: 60_000 }));
  const wakeups = queue.wakeups(envs);
  opened.push(wakeups);
  wakeups.start();
  // Listening: its first connection wakes it once (what was queued before it listened is looked for).
  await waitFor("the first listen", () => (wakeups.seen > 0 ? true : undefined));
  let jobs = 0;
  const enqueue = (env: string | null) =>
    queue.enqueue({
      id: `job-${++jobs}`,
      verb: "backup",
      env,
      args: { env },
      requestedBy: "U0TEST",
      approvedBy: null,
      maxAttempts: 1,
    });
  const listener = () => connectionsNamed(url, WAKEUPS_APPLICATION);
  return { url, queue, wakeups, enqueue, listener };
}

/** How long `wait` took, woken by `wake` (started once the wait is in place). */
async function timedWait(wakeups: QueueWakeups, wake: () => Promise<void>) {
  const since = wakeups.seen;
  const started = Date.now();
  const waited = wakeups.wait(POLL_MS, since, new AbortController().signal);
  await wake();
  await waited;
  return { ms: Date.now() - started, woken: wakeups.seen - since };
}

describe("queue wake-ups", () => {
  it("an enqueue wakes a waiting worker at once, not at its next poll", async () => {
    const { wakeups, enqueue, listener } = await setUp();
    expect(await listener()).toHaveLength(1);
    const { ms, woken } = await timedWait(wakeups, () => enqueue("prod"));
    expect(woken).toBe(1);
    expect(ms).toBeLessThan(POLL_MS / 4);
  });

  it("a wake-up between looking for work and waiting is not missed: the wait returns at once", async () => {
    const { wakeups, enqueue } = await setUp();
    const since = wakeups.seen;
    await enqueue("prod");
    await waitFor("the notification", () => (wakeups.seen > since ? true : undefined));
    const started = Date.now();
    await wakeups.wait(POLL_MS, since, new AbortController().signal);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("a worker limited to some envs is woken by their jobs only", async () => {
    const { wakeups, enqueue } = await setUp(["staging"]);
    // Notifications arrive in commit order on one connection: prod's and the env-less one come first.
    const { woken } = await timedWait(wakeups, async () => {
      await enqueue("prod");
      await enqueue(null);
      await enqueue("staging");
    });
    expect(woken).toBe(1);
  });

  it("the listening connection terminated: it listens again by itself, and an enqueue still wakes at once", async () => {
    const { url, wakeups, enqueue, listener } = await setUp();
    const [first] = await listener();
    const before = wakeups.seen;
    await sql(url, "select pg_terminate_backend($1)", [first]);
    // Listening again wakes it once: what was queued while nothing listened is looked for.
    await waitFor("listening again", () => (wakeups.seen > before ? true : undefined), 20_000);
    const again = await listener();
    expect(again).toHaveLength(1);
    expect(again[0]).not.toBe(first);
    const { ms, woken } = await timedWait(wakeups, () => enqueue("prod"));
    expect(woken).toBe(1);
    expect(ms).toBeLessThan(POLL_MS / 4);
  });

  it("the state database unreachable a while: waits just time out, and once it is back it listens again", async () => {
    const { url, enqueue } = await setUp();
    const proxy = await tcpProxy(Number(new URL(url).port));
    try {
      const viaProxy = new URL(url);
      viaProxy.port = String(proxy.port);
      const wakeups = new WorkQueue(new PgStateStore(viaProxy.href, { leaseMs: 60_000 })).wakeups(null);
      opened.push(wakeups);
      wakeups.start();
      await waitFor("the first listen", () => (wakeups.seen > 0 ? true : undefined));
      await proxy.close();
      // Its connection dropped and new ones refused, a few tries over: a wait is the poll's, nothing thrown.
      const before = wakeups.seen;
      const started = Date.now();
      await wakeups.wait(1_500, before, new AbortController().signal);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(wakeups.seen).toBe(before);
      await proxy.reopen();
      await waitFor("listening again", () => (wakeups.seen > before ? true : undefined), 20_000);
      const { ms, woken } = await timedWait(wakeups, () => enqueue("prod"));
      expect(woken).toBe(1);
      expect(ms).toBeLessThan(POLL_MS / 4);
    } finally {
      await proxy.close();
    }
  });

  it("a wait ends at its interval when nothing is queued, and at once when aborted", async () => {
    const { wakeups } = await setUp();
    const started = Date.now();
    await wakeups.wait(200, wakeups.seen, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const stop = new AbortController();
    const waited = wakeups.wait(POLL_MS, wakeups.seen, stop.signal);
    stop.abort();
    const aborted = Date.now();
    await waited;
    expect(Date.now() - aborted).toBeLessThan(1_000);
  });

  it("closed: waits end and the connection is gone", async () => {
    const { wakeups, listener } = await setUp();
    const waited = wakeups.wait(POLL_MS, wakeups.seen, new AbortController().signal);
    await wakeups.close();
    await waited;
    await waitForAsync("the listener gone", async () => ((await listener()).length === 0 ? true : undefined));
  });
});
