/**
 * Issue 14's throughput figure: 10 queued backups of small databases, drained by one `dbbackup worker`
 * process and by two, in rounds, on the bench's server with a state database of their own each. The
 * time of a drain is the state database's own: from the first job queued to the last one finished.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { ScratchServer } from "../src/restore/scratch-server.js";
import { PgStateStore } from "../src/state/pg-store.js";
import { WorkQueue } from "../src/state/work-queue.js";
import { median, pairedRatio, seconds } from "./format.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, "..", "bin", "dbbackup.js");
const JOBS = 10;
/** Rows per small database: a few MB each, a backup of a second or so. */
const ROWS = Number(process.env.BENCH_WORKER_ROWS ?? 50_000);

export interface WorkerThroughput {
  oneMs: number;
  twoMs: number;
  /** The machine's cores kept busy during each drain (all processes): how much room a second worker had. */
  oneCores: number;
  twoCores: number;
  /** The median of the rounds' 1-worker over 2-worker times (see pairedRatio). */
  speedup: number | undefined;
  ok: boolean;
}

/** The machine's busy and total CPU time so far (/proc/stat's first line, in ticks). */
function cpuTicks(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A worker process in its own folder, resolved once it says it is ready. Bounded: 30 s. */
async function startWorker(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, "worker"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let said = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a bench worker did not start: ${said}`)), 30_000);
    child.stderr?.on("data", (d: Buffer) => {
      said += d.toString();
      if (said.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => reject(new Error(`a bench worker exited: ${said}`)));
  });
  return child;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
        }),
    ),
  );
}

interface Drain {
  ms: number;
  ok: boolean;
  cores: number;
}

/** One drain: `workers` processes, JOBS backups queued at once; ms from the first queued to the last done. */
async function drain(
  server: ScratchServer,
  work: string,
  round: string,
  workers: number,
  envs: Record<string, string>,
): Promise<Drain> {
  const stateUrl = server.url(`state_${round}`);
  await sql(server.url(), `create database state_${round}`);
  const dirs = Array.from({ length: workers }, (_, i) => path.join(work, `${round}-worker-${i}`));
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true });
    const lines = Object.entries({ ...envs, DBBACKUP_STATE_URL: stateUrl }).map(([k, v]) => `${k}=${v}`);
    await writeFile(path.join(dir, ".env"), `${lines.join("\n")}\n`);
  }
  const children = await Promise.all(dirs.map((dir) => startWorker(dir)));
  const store = new PgStateStore(stateUrl, { leaseMs: 60_000 });
  const queue = new WorkQueue(store);
  try {
    const ids = Object.keys(envs).map((key, i) => ({
      id: `${round}-${i}`,
      env: key.slice("DATABASE_URL_".length).toLowerCase(),
    }));
    const before = cpuTicks();
    for (const { id, env } of ids)
      await queue.enqueue({
        id,
        verb: "backup",
        env,
        args: { env, label: round },
        requestedBy: "bench",
        approvedBy: null,
        maxAttempts: 1,
      });
    // Bounded: 10 minutes.
    for (let i = 0; i < 2_400; i++) {
      const rows = await Promise.all(ids.map(({ id }) => queue.get(id)));
      if (rows.every((r) => r?.status === "done" || r?.status === "failed")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const span = await store.sql<{ ms: number; done: number }>(
      `select extract(epoch from max(finished_at) - min(created_at)) * 1000 as ms,
              count(*) filter (where status = 'done')::int as done
         from dbbackup_queue`,
    );
    const after = cpuTicks();
    if (process.env.BENCH_WORKER_TIMELINE) {
      const timeline = await store.sql<{ id: string; worker: string; wait: number; run: number }>(
        `select id, worker, extract(epoch from started_at - min(created_at) over ()) * 1000 as wait,
                extract(epoch from finished_at - started_at) * 1000 as run
           from dbbackup_queue order by started_at`,
      );
      for (const r of timeline.rows)
        process.stderr.write(
          `  ${r.id} ${r.worker.slice(0, 8)} start ${Number(r.wait).toFixed(0)} ms, ran ${Number(r.run).toFixed(0)} ms\n`,
        );
    }
    const cores =
      ((after.busy - before.busy) / Math.max(1, after.total - before.total)) * os.availableParallelism();
    const row = span.rows[0];
    return { ms: Number(row?.ms ?? Number.NaN), ok: row?.done === JOBS, cores };
  } finally {
    await stop(children);
    await store.close();
  }
}

function drainLine(workers: number, d: Drain): string {
  return `workers: ${workers} worker${workers === 1 ? "" : "s"} drained ${JOBS} backups in ${seconds(d.ms)}, ${d.cores.toFixed(2)} cores busy${d.ok ? "" : " (some FAILED)"}`;
}

/** `rounds` rounds of a drain by 1 worker and by 2, the order alternating; medians reported. */
export async function measureWorkers(
  server: ScratchServer,
  work: string,
  rounds: number,
  log: (line: string) => void,
): Promise<WorkerThroughput> {
  const envs: Record<string, string> = {};
  for (let i = 1; i <= JOBS; i++) {
    await sql(server.url(), `create database small_${i}`);
    await sql(
      server.url(`small_${i}`),
      `create table public.items as select g as id, md5(g::text) as token, now() - g * interval '1 minute' as at
         from generate_series(1, ${ROWS}) g`,
    );
    envs[`DATABASE_URL_SMALL${i}`] = server.url(`small_${i}`);
  }
  const one: Drain[] = [];
  const two: Drain[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const workers of round % 2 === 0 ? [1, 2] : [2, 1]) {
      const d = await drain(server, work, `r${round}_${workers}`, workers, envs);
      (workers === 1 ? one : two).push(d);
      log(drainLine(workers, d));
    }
  }
  const mid = (drains: Drain[], pick: (d: Drain) => number) => median(drains.map(pick)) ?? Number.NaN;
  return {
    oneMs: mid(one, (d) => d.ms),
    twoMs: mid(two, (d) => d.ms),
    oneCores: mid(one, (d) => d.cores),
    twoCores: mid(two, (d) => d.cores),
    speedup: pairedRatio(
      one.map((d) => d.ms),
      two.map((d) => d.ms),
    ),
    ok: [...one, ...two].every((d) => d.ok),
  };
}

export function workersRow(w: WorkerThroughput | undefined): string[] {
  const cores = w ? ` (cores busy: ${w.oneCores.toFixed(1)} with 1, ${w.twoCores.toFixed(1)} with 2)` : "";
  return [
    `${JOBS} queued backups of small databases: throughput of 2 workers vs 1${cores}${w && !w.ok ? " (some FAILED)" : ""}`,
    seconds(w?.twoMs),
    seconds(w?.oneMs),
    w?.speedup === undefined ? "n/a" : `${w.speedup.toFixed(2)}×`,
    "≥ 1.7×",
  ];
}
