import { describe, expect, it } from "vitest";
import { JobEventWriter } from "../../src/state/job-events.js";
import { PgStateStore } from "../../src/state/pg-store.js";
import { WorkQueue } from "../../src/state/work-queue.js";
import { createDatabase, sql, useTestServer } from "../helpers/postgres.js";

/** A worker's job events written to the state database batched, in their order, none lost. */

const db = useTestServer(15);
let databases = 0;

async function setUp() {
  const url = await createDatabase(db.server, `events_${++databases}`);
  const queue = new WorkQueue(new PgStateStore(url, { leaseMs: 60_000 }));
  await queue.enqueue({
    id: "job",
    verb: "backup",
    env: "prod",
    args: {},
    requestedBy: "U0TEST",
    approvedBy: null,
    maxAttempts: 1,
  });
  /** Every event of the job as the bot reads them (eventsAfter, page by page). */
  const read = async () => {
    const all: unknown[] = [];
    for (let after = 0; ; ) {
      const page = await queue.eventsAfter("job", after);
      if (page.events.length === 0) return all;
      all.push(...page.events);
      after = page.last;
    }
  };
  /** The transactions that wrote the job's events: one per insert. */
  const inserts = async () =>
    (
      await sql<{ n: number }>(
        url,
        "select count(distinct xmin::text)::int as n from dbbackup_job_events where job_id = 'job'",
      )
    )[0]?.n;
  return { queue, read, inserts };
}

const event = (n: number) => ({ type: "tables", done: n, total: undefined, table: `t${n}` });

describe("job events", () => {
  it("the first goes at once; those sent meanwhile go together in one insert, in order", async () => {
    const { queue, read, inserts } = await setUp();
    const writer = new JobEventWriter(queue, "job");
    const sent = Array.from({ length: 300 }, (_, i) => event(i));
    for (const e of sent) writer.send(e);
    await writer.flushed();
    expect(await read()).toEqual(JSON.parse(JSON.stringify(sent)));
    expect(await inserts()).toBe(2);
  });

  it("events sent while the writes go on, in bursts: all of them, in order, with rising ids", async () => {
    const { queue, read } = await setUp();
    const writer = new JobEventWriter(queue, "job");
    const sent: ReturnType<typeof event>[] = [];
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 1 + (burst % 4) * 7; i++) {
        const e = event(sent.length);
        sent.push(e);
        writer.send(e);
      }
      // Sometimes while an insert is in flight, sometimes after it ended.
      if (burst % 3 === 0) await writer.flushed();
      else await new Promise((r) => setImmediate(r));
    }
    // flushed() waits for every event sent so far, including those queued behind the insert in flight.
    await writer.flushed();
    const got = (await read()) as { done: number }[];
    expect(got.map((e) => e.done)).toEqual(sent.map((e) => e.done));
  });

  it("more events than one statement's parameters allow: written in several inserts, in order", async () => {
    const { queue, read, inserts } = await setUp();
    const writer = new JobEventWriter(queue, "job");
    const sent = Array.from({ length: 2_501 }, (_, i) => event(i));
    for (const e of sent) writer.send(e);
    await writer.flushed();
    const got = (await read()) as { done: number }[];
    expect(got.map((e) => e.done)).toEqual(sent.map((e) => e.done));
    // The first alone, then 2,500 a thousand at a time.
    expect(await inserts()).toBe(4);
  });

  it("an insert that fails doesn't stop the job: flushed() still resolves, and later events are written", async () => {
    const { queue, read } = await setUp();
    const gone = new JobEventWriter(queue, "no-such-job");
    gone.send(event(0));
    gone.send(event(1));
    await gone.flushed();
    const writer = new JobEventWriter(queue, "job");
    writer.send(event(2));
    await writer.flushed();
    expect(((await read()) as { done: number }[]).map((e) => e.done)).toEqual([2]);
  });
});
