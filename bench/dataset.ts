/**
 * The bench database: a shop's tables (customers, products, orders, order_items, events,
 * documents) filled server-side with INSERT … SELECT over generate_series, several chunks loaded
 * concurrently over separate connections. Every value is a function of the row id through
 * `hashint8extended`, so the same target size gives the same rows on every run. Text is drawn
 * word by word from a skewed vocabulary (see vocabulary.ts) and compresses like prose; events carry
 * jsonb, money is numeric(12,2), times are timestamptz. Afterwards: keys, indexes, foreign keys,
 * RLS policies, views (one security_invoker), a trigger, grants, then VACUUM (FREEZE, ANALYZE) so
 * the first pg_dump doesn't pay for hint bits and every measured run reads the same pages.
 */
import os from "node:os";
import type pg from "pg";
import { assertLocal, connect, ensureEmptyDatabase, runPool } from "./dataset-connections.js";
import { loadSql } from "./dataset-rows.js";
import { FINISH_SQL, FOREIGN_KEYS_SQL, INDEX_SQL, SCHEMA_SQL, TABLES } from "./dataset-schema.js";
import { CHUNK_ROWS, type Counts, chunks, DEFAULT_TARGET_BYTES, rowCounts } from "./dataset-size.js";
import { MB } from "./measure.js";

export { generatorFunctions } from "./dataset-generators.js";
export { loadSql } from "./dataset-rows.js";
export { DEFAULT_TARGET_BYTES } from "./dataset-size.js";

export interface TableStats {
  name: string;
  rows: number;
  /** pg_total_relation_size: heap + TOAST + indexes. */
  totalBytes: number;
  /** pg_table_size: heap + TOAST, no indexes. */
  tableBytes: number;
}

export interface BenchDatabase {
  url: string;
  targetBytes: number;
  /** pg_database_size after VACUUM. */
  databaseBytes: number;
  tables: TableStats[];
  /** Wall-clock milliseconds per phase and in total. */
  timings: { load: number; indexes: number; finish: number; total: number };
}

export interface CreateBenchDatabaseOptions {
  /** Connections used to load concurrently; default: CPU count, at least 2, at most 6. */
  concurrency?: number;
  /** Called with a line of progress now and then. */
  log?: (line: string) => void;
}

type Log = (line: string) => void;

interface LoadChunk {
  table: keyof Counts;
  lo: number;
  hi: number;
  weight: number;
}

/** Every chunk of every table, biggest first so the connections finish together. */
function loadPlan(counts: Counts): LoadChunk[] {
  const loads: LoadChunk[] = [];
  const weights: Record<keyof Counts, number> = {
    customers: 1,
    products: 2,
    orders: 2.6,
    events: 2,
    documents: 6,
  };
  for (const table of ["customers", "products", "orders", "events", "documents"] as const) {
    for (const [lo, hi] of chunks(counts[table], CHUNK_ROWS[table])) {
      loads.push({ table, lo, hi, weight: (hi - lo + 1) * weights[table] });
    }
  }
  loads.sort((a, b) => b.weight - a.weight);
  return loads;
}

/** Fill the tables over all connections; returns the wall-clock ms it took. */
async function loadRows(clients: pg.Client[], counts: Counts, log: Log): Promise<number> {
  const loads = loadPlan(counts);
  const loadStarted = performance.now();
  let done = 0;
  await runPool(clients, loads, async (client, { table, lo, hi }) => {
    for (const sql of loadSql(table, lo, hi, counts)) await client.query(sql);
    done++;
    if (done % 10 === 0 || done === loads.length) log(`loaded ${done}/${loads.length} chunks`);
  });
  const load = performance.now() - loadStarted;
  log(`load ${(load / 1000).toFixed(1)} s`);
  return load;
}

/** Keys and indexes (tables in parallel), then foreign keys; returns the wall-clock ms. */
async function addKeysAndIndexes(clients: pg.Client[], log: Log): Promise<number> {
  const indexStarted = performance.now();
  const indexTasks = Object.values(INDEX_SQL).sort((a, b) => b.length - a.length);
  await runPool(clients, indexTasks, async (client, statements) => {
    for (const sql of statements) await client.query(sql);
  });
  await runPool(clients, FOREIGN_KEYS_SQL, async (client, sql) => {
    await client.query(sql);
  });
  const indexes = performance.now() - indexStarted;
  log(`keys and indexes ${(indexes / 1000).toFixed(1)} s`);
  return indexes;
}

/** Sequences, views, RLS, grants, then VACUUM (FREEZE, ANALYZE) and a checkpoint; returns the ms. */
async function finishDatabase(clients: pg.Client[], first: pg.Client): Promise<number> {
  const finishStarted = performance.now();
  await first.query(FINISH_SQL);
  await runPool(clients, [...TABLES], async (client, table) => {
    await client.query(`VACUUM (FREEZE, ANALYZE) ${table}`);
  });
  await first.query("CHECKPOINT");
  return performance.now() - finishStarted;
}

/** pg_database_size and each table's rows and sizes, biggest first. */
async function measureDatabase(
  first: pg.Client,
  log: Log,
): Promise<{ databaseBytes: number; tables: TableStats[] }> {
  const size = await first.query("SELECT pg_database_size(current_database())::bigint AS bytes");
  const stats = await first.query(
    `SELECT c.relname AS name, c.reltuples::bigint AS rows, pg_total_relation_size(c.oid)::bigint AS total,
              pg_table_size(c.oid)::bigint AS tbl
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY total DESC`,
  );
  const tables: TableStats[] = stats.rows.map((row: Record<string, unknown>) => ({
    name: String(row.name),
    rows: Number(row.rows),
    totalBytes: Number(row.total),
    tableBytes: Number(row.tbl),
  }));
  const databaseBytes = Number(size.rows[0]?.bytes);
  log(`pg_database_size ${(databaseBytes / MB).toFixed(0)} MB`);
  return { databaseBytes, tables };
}

/**
 * Create and fill the bench database at `url` (created if missing; must be empty) so that
 * pg_database_size comes out near `targetBytes`. Deterministic: the same target gives the same rows.
 */
export async function createBenchDatabase(
  url: string,
  targetBytes: number = DEFAULT_TARGET_BYTES,
  options: CreateBenchDatabaseOptions = {},
): Promise<BenchDatabase> {
  assertLocal(url);
  const log = options.log ?? (() => {});
  const started = performance.now();
  await ensureEmptyDatabase(url);
  const counts = rowCounts(targetBytes);
  const workers = options.concurrency ?? Math.min(6, Math.max(2, os.availableParallelism()));
  const clients = await connect(url, workers);
  const [first] = clients;
  if (!first) throw new Error("no connection");
  try {
    await first.query(SCHEMA_SQL);
    const load = await loadRows(clients, counts, log);
    const indexes = await addKeysAndIndexes(clients, log);
    const finish = await finishDatabase(clients, first);
    const { databaseBytes, tables } = await measureDatabase(first, log);
    return {
      url,
      targetBytes,
      databaseBytes,
      tables,
      timings: { load, indexes, finish, total: performance.now() - started },
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
