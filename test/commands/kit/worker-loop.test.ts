import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorker, type WorkerSummary } from "../../../commands/kit/worker-loop.js";
import { loadConfig } from "../../../src/config.js";
import { PgStateStore } from "../../../src/state/pg-store.js";
import { WAKEUPS_APPLICATION } from "../../../src/state/queue-wakeups.js";
import { WorkQueue } from "../../../src/state/work-queue.js";
import { workdir } from "../../helpers/cli.js";
import { connectionsNamed, createDatabase, sql, useTestServer } from "../../helpers/postgres.js";
import { waitFor, waitForAsync } from "../../helpers/servers.js";
import { tcpProxy } from "../../helpers/tcp-proxy.js";

/** The worker loop in this process, on a real state database: woken by the enqueue, never stopped by its connection. */

const db = useTestServer(15);
/** An idle poll far longer than any wake-up: a job taken sooner was noticed by its notification. */
const LONG_POLL_MS = 30_000;
let tiny: string;
let databases = 0;
const hosts: { remove(): void }[] = [];

beforeAll(async () => {
  tiny = await createDatabase(db.server, "tiny");
  await sql(
    tiny,
    "create table public.items as select g as id, md5(g::text) as v from generate_series(1, 500) g",
  );
});
afterAll(() => {
  for (const h of hosts) h.remove();
});

/** A worker on a state database of its own (reached at `viaUrl` when given), with `pollMs` between idle looks. */
async function startWorker(pollMs: number, via?: (url: string) => string) {
  const stateUrl = await createDatabase(db.server, `worker_state_${++databases}`);
  const host = workdir();
  hosts.push(host);
  const config = loadConfig({
    cwd: host.dir,
    noEnvFile: true,
    env: {
      DATABASE_URL_TINY: tiny,
      DBBACKUP_STATE_URL: via ? via(stateUrl) : stateUrl,
      DBBACKUP_LEASE: "60s",
    },
  });
  const stop = new AbortController();
  const notes: string[] = [];
  const running: Promise<WorkerSummary> = runWorker(
    { config, requestedBy: "tester", signal: stop.signal },
    { envs: null, concurrency: 1, signal: stop.signal, pollMs, onNote: (line) => notes.push(line) },
  );
  await waitFor("the worker ready", () => (notes.some((n) => n.includes("ready")) ? true : undefined));
  const store = new PgStateStore(stateUrl, { leaseMs: 60_000 });
  const queue = new WorkQueue(store);
  let jobs = 0;
  /** A backup queued; resolves with the job once it ended, and how long it waited to be taken. */
  const backup = async (label: string) => {
    const id = `job-${++jobs}`;
    await queue.enqueue({
      id,
      verb: "backup",
      env: "tiny",
      args: { env: "tiny", label },
      requestedBy: "U0REQ0001",
      approvedBy: null,
      maxAttempts: 1,
    });
    const job = await waitForAsync(
      `${id} ended`,
      async () => {
        const row = await queue.get(id);
        return row?.status === "done" || row?.status === "failed" ? row : undefined;
      },
      45_000,
    );
    const [waited] = await sql<{ ms: number }>(
      stateUrl,
      "select extract(epoch from started_at - created_at) * 1000 as ms from dbbackup_queue where id = $1",
      [id],
    );
    return { id, job, waitedMs: Number(waited?.ms) };
  };
  const listener = () => connectionsNamed(stateUrl, WAKEUPS_APPLICATION);
  const end = async () => {
    stop.abort();
    const summary = await running;
    await store.close();
    return summary;
  };
  return { stateUrl, queue, backup, listener, notes, end, running };
}

/** Long enough that the worker's lane surely finished its last look for work and sleeps. */
const idle = () => new Promise((r) => setTimeout(r, 1_000));

describe("the worker loop", () => {
  it("an idle worker takes a queued backup at once, not at its next poll; its events all arrive, in order", async () => {
    const worker = await startWorker(LONG_POLL_MS);
    try {
      await idle();
      const first = await worker.backup("woken");
      expect(first.job.status).toBe("done");
      expect(first.waitedMs).toBeLessThan(LONG_POLL_MS / 4);
      // The events as the bot reads them: the engine's, from "started" to the last stage, none lost.
      const { events } = await worker.queue.eventsAfter(first.id, 0);
      const kinds = events.map((e) => (e as { type: string }).type);
      expect(kinds[0]).toBe("started");
      expect(kinds).toContain("stage");
      const steps = (events as { type: string; step?: string; status?: string }[])
        .filter((e) => e.type === "step")
        .map((e) => `${e.step} ${e.status}`);
      expect(steps.slice(0, 2)).toEqual(["connect started", "connect finished"]);
      for (const [i, s] of steps.entries())
        if (s.endsWith("finished")) expect(steps.slice(0, i)).toContain(s.replace("finished", "started"));
      const [rows] = await sql<{ n: number }>(
        worker.stateUrl,
        "select count(*)::int as n from dbbackup_job_events where job_id = $1",
        [first.id],
      );
      expect(rows?.n).toBe(events.length);
      // Idle again, after a job: woken again.
      await idle();
      const second = await worker.backup("woken-again");
      expect(second.job.status).toBe("done");
      expect(second.waitedMs).toBeLessThan(LONG_POLL_MS / 4);
    } finally {
      expect(await worker.end()).toEqual({ ok: true, ran: 2, failed: 0 });
    }
  });

  it("its listening connection terminated: the worker listens again by itself and is still woken at once", async () => {
    const worker = await startWorker(LONG_POLL_MS);
    try {
      const [first] = await waitForAsync("the worker listening", async () => {
        const pids = await worker.listener();
        return pids.length === 1 ? pids : undefined;
      });
      await sql(worker.stateUrl, "select pg_terminate_backend($1)", [first]);
      await waitForAsync("the worker listening again", async () => {
        const pids = await worker.listener();
        return pids.length === 1 && pids[0] !== first ? true : undefined;
      });
      await idle();
      const after = await worker.backup("after-terminate");
      expect(after.job.status).toBe("done");
      expect(after.waitedMs).toBeLessThan(LONG_POLL_MS / 4);
    } finally {
      expect(await worker.end()).toEqual({ ok: true, ran: 1, failed: 0 });
    }
  });

  it("the state database unreachable: the worker says it can't take work, and takes it once it is back", async () => {
    const port = Number(new URL(db.server.url()).port);
    const proxy = await tcpProxy(port);
    const worker = await startWorker(200, (url) => {
      const viaProxy = new URL(url);
      viaProxy.port = String(proxy.port);
      return viaProxy.href;
    });
    try {
      await proxy.close();
      await waitFor("the worker saying so", () =>
        worker.notes.some((n) => n.startsWith("can't take work")) ? true : undefined,
      );
      await proxy.reopen();
      const back = await worker.backup("after-outage");
      expect(back.job.status).toBe("done");
    } finally {
      expect(await worker.end()).toEqual({ ok: true, ran: 1, failed: 0 });
      await proxy.close();
    }
  });
});
