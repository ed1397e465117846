/**
 * A small sample of the database's biggest tables, read in the backup's own snapshot and compressed
 * here at the levels pg_dump would use, so the compression fits this database's data rather than
 * one build's guess. Costs ~0.1–0.2 s, beside the search for pg_dump; never fails the backup.
 */
import type pg from "pg";
import { NOT_EXTENSION_MEMBER, USER_NAMESPACE } from "./catalog-rules.js";
import type { SnapshotSession } from "./catalog-snapshot.js";
import {
  type CandidateFigure,
  type Measured,
  SAMPLE_ALLOWANCE,
  type SampleFigures,
} from "./compression-choice.js";
import { canMeasure, compressSample, type Family } from "./sample-compressors.js";

export interface SampleLimits {
  /** Less than this in all user tables and no sample is read (see SMALL_DATA_BYTES). */
  minDataBytes: number;
  /** The whole sample, over all tables (text as the server prints rows). */
  maxBytes: number;
  /** The biggest this many tables are sampled. */
  maxTables: number;
  /** Each query's statement_timeout; the loop also stops once this much time has passed. */
  timeoutMs: number;
}

/**
 * Under 8 MB of tables a sample costs about what it could save (~10 ms a MB between levels, ~40 ms
 * to read and measure), and size hardly matters: such data gets the fastest level unmeasured.
 */
export const SMALL_DATA_BYTES = 8 * 1024 * 1024;
/** 512 KB: read and compressed a few times over in ~0.1 s on a small machine, still many pages. */
export const SAMPLE_LIMITS: SampleLimits = {
  minDataBytes: SMALL_DATA_BYTES,
  maxBytes: 512 * 1024,
  maxTables: 4,
  timeoutMs: 1000,
};
/**
 * gzip:6 and a level within the allowance (the two compared for speed) are timed twice, the faster
 * kept: other work on a shared core only adds time. A level too big is out whatever its time.
 */
const TIMINGS = 2;
/** Less than this and one measurement's timing is mostly noise: keep the default. */
export const MIN_SAMPLE_BYTES = 64 * 1024;
/** A row's text is cut here, so one huge value can't make the sample big. */
const MAX_ROW_CHARS = 65_536;

export interface RowSample {
  text: Buffer;
  tables: number;
  /** pg_table_size of every user table: the data the dump will compress. */
  dataBytes: number;
}

interface BigTable {
  name: string;
  bytes: number;
  rows: number;
  /** The row as COPY's text prints it, near enough: columns tab-separated, NULL as \N. */
  line: string;
}

/** The biggest `limit` user tables, and the size of them all. */
async function largestTables(
  client: pg.Client,
  limit: number,
): Promise<{ tables: BigTable[]; dataBytes: number }> {
  // The column list is quoted by the server (format %I), so it is safe to put into the next query.
  const r = await client.query<{
    name: string;
    bytes: string;
    rows: string;
    columns: string | null;
    all_bytes: string;
  }>(
    `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name,
            pg_table_size(c.oid) as bytes, c.reltuples::bigint as rows,
            sum(pg_table_size(c.oid)) over () as all_bytes,
            (select string_agg(format('coalesce(t.%I::text, %L)', a.attname, '\\N'), ', ' order by a.attnum)
               from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by pg_table_size(c.oid) desc limit $1`,
    [limit],
  );
  const tables: BigTable[] = [];
  for (const row of r.rows) {
    if (row.columns === null || Number(row.bytes) <= 0) continue;
    const line = `concat_ws(E'\\t', ${row.columns})`;
    tables.push({ name: row.name, bytes: Number(row.bytes), rows: Number(row.rows), line });
  }
  return { tables, dataBytes: Number(r.rows[0]?.all_bytes ?? 0) };
}

/** One table's share of the sample: random pages (TABLESAMPLE SYSTEM), rows as text, cut at `share`. */
async function sampleTable(client: pg.Client, table: BigTable, share: number): Promise<string> {
  const rowBytes = table.rows > 0 ? Math.max(16, table.bytes / table.rows) : 100;
  const rows = Math.ceil(share / rowBytes) + 1;
  // Twice the pages the share needs: a row's text is often longer than its place on disk.
  const percent = Math.min(100, Math.max(0.001, (100 * 2 * share) / table.bytes));
  const r = await client.query<{ sample: string | null }>(
    `select left(string_agg(s.line, E'\\n'), $1) as sample
       from (select left(${table.line}, ${MAX_ROW_CHARS}) as line
               from ${table.name} as t tablesample system ($2::real) limit $3) as s`,
    [Math.ceil(share), percent, rows],
  );
  return r.rows[0]?.sample ?? "";
}

/**
 * The biggest tables' rows, each table's share of `maxBytes` in proportion to its size. Runs in a
 * savepoint that is rolled back, so its timeout, locks and any error leave the snapshot's
 * transaction as it was (pg_dump still imports the snapshot).
 */
export async function readRowSample(client: pg.Client, limits: SampleLimits): Promise<RowSample> {
  const started = performance.now();
  await client.query("savepoint dbbackup_sample");
  try {
    await client.query(`set local statement_timeout = '${Math.max(1, Math.round(limits.timeoutMs))}ms'`);
    const { tables, dataBytes } = await largestTables(client, limits.maxTables);
    if (dataBytes < limits.minDataBytes) return { text: Buffer.alloc(0), tables: 0, dataBytes };
    const total = tables.reduce((sum, t) => sum + t.bytes, 0);
    const parts: string[] = [];
    for (const table of tables) {
      if (performance.now() - started > limits.timeoutMs) break;
      const part = await sampleTable(client, table, (limits.maxBytes * table.bytes) / total);
      if (part) parts.push(part);
    }
    return { text: Buffer.from(parts.join("\n")), tables: parts.length, dataBytes };
  } finally {
    await client.query("rollback to savepoint dbbackup_sample");
    await client.query("release savepoint dbbackup_sample");
  }
}

/** `family` at `level` over the sample, off the event loop (the bot keeps answering Slack meanwhile). */
async function measureLevel(
  family: Family,
  text: Buffer,
  level: number,
  timings: number,
): Promise<CandidateFigure> {
  let bytes = 0;
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < timings; i++) {
    const t0 = performance.now();
    bytes = (await compressSample(family, text, level)).length;
    ms = Math.min(ms, performance.now() - t0);
  }
  return { spec: `${family}:${level}`, bytes, ms };
}

/**
 * gzip:6 (the runbook's size, pg_dump's default on every version, the size to stay near), no
 * compression, then `family` from level 1 upwards until one is within SAMPLE_ALLOWANCE of gzip:6's
 * size: a higher level is slower still, so it is not measured. zstd for pg_dump 16 and newer.
 */
export async function measureSample(
  sample: RowSample,
  started: number,
  family: Family = "gzip",
): Promise<SampleFigures> {
  const readMs = Math.round(performance.now() - started);
  const reference = await measureLevel("gzip", sample.text, 6, TIMINGS);
  const candidates: CandidateFigure[] = [reference, { spec: "none", bytes: sample.text.length, ms: 0 }];
  for (let level = 1; level <= 5; level++) {
    const once = await measureLevel(family, sample.text, level, 1);
    const within = once.bytes <= reference.bytes * SAMPLE_ALLOWANCE;
    const figure = within ? await measureLevel(family, sample.text, level, TIMINGS - 1) : once;
    candidates.push({ ...figure, ms: Math.min(once.ms, figure.ms) });
    if (within) break;
  }
  const round = (c: CandidateFigure) => ({ ...c, ms: Math.round(c.ms * 10) / 10 });
  return {
    rawBytes: sample.text.length,
    tables: sample.tables,
    readMs,
    ms: Math.round(performance.now() - started),
    candidates: candidates.map(round),
  };
}

/**
 * Reads and measures a sample unless none is needed or can be: DBBACKUP_COMPRESS is set, or the
 * server is 16 or newer (so is its pg_dump, whose levels to measure are zstd's) and this Node has
 * no zstd. Started as soon as the snapshot is open, so it runs while the pg_dump binaries are
 * looked for. Never rejects: a failure is a reason.
 */
export async function sampleCompression(
  session: SnapshotSession,
  setting: string | undefined,
): Promise<Measured> {
  if (setting !== undefined) return { none: "not sampled: DBBACKUP_COMPRESS is set" };
  const family: Family = session.serverMajor >= 16 ? "zstd" : "gzip";
  if (!canMeasure(family))
    return {
      none: `not sampled: this Node (${process.version}) has no zstd to measure pg_dump ${session.serverMajor}'s with`,
    };
  const started = performance.now();
  try {
    const sample = await session.sampleRows(SAMPLE_LIMITS);
    if (sample.dataBytes < SAMPLE_LIMITS.minDataBytes) {
      const mb = (sample.dataBytes / (1024 * 1024)).toFixed(1);
      return { small: `${mb} MB of tables, too little for a sample to pay` };
    }
    if (sample.text.length < MIN_SAMPLE_BYTES) {
      return { none: `too little data to sample (${Math.round(sample.text.length / 1024)} KB)` };
    }
    return { figures: await measureSample(sample, started, family) };
  } catch (error) {
    return { none: `sample failed (${error instanceof Error ? error.message : String(error)})` };
  }
}
