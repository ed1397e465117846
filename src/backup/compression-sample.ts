/**
 * A small sample of the database's biggest tables, read in the backup's own snapshot and compressed
 * here at the levels pg_dump would use, so the compression fits this database's data rather than
 * one build's guess. Costs ~0.1 s; never fails the backup (the default is kept, and why).
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import type pg from "pg";
import { NOT_EXTENSION_MEMBER, USER_NAMESPACE } from "./catalog-read.js";
import type { SnapshotSession } from "./catalog-snapshot.js";
import { defaultCompression } from "./compression.js";
import {
  type CandidateFigure,
  type CompressionChoice,
  chooseFromSample,
  defaultChoice,
  type SampleFigures,
  SIZE_ALLOWANCE,
  settingChoice,
} from "./compression-choice.js";

export interface SampleLimits {
  /** The whole sample, over all tables (text as the server prints rows). */
  maxBytes: number;
  /** The biggest this many tables are sampled. */
  maxTables: number;
  /** Each query's statement_timeout; the loop also stops once this much time has passed. */
  timeoutMs: number;
}

/** 512 KB: read and compressed a few times over in ~0.1 s on a small machine, still many pages. */
export const SAMPLE_LIMITS: SampleLimits = { maxBytes: 512 * 1024, maxTables: 4, timeoutMs: 1000 };
/** Each level is timed this many times, the fastest kept: other work on a shared core only adds time. */
const TIMINGS = 2;
/** Less than this and one measurement's timing is mostly noise: keep the default. */
export const MIN_SAMPLE_BYTES = 64 * 1024;
/** A row's text is cut here, so one huge value can't make the sample big. */
const MAX_ROW_CHARS = 65_536;

export interface RowSample {
  text: Buffer;
  tables: number;
}

interface BigTable {
  name: string;
  bytes: number;
  rows: number;
}

async function largestTables(client: pg.Client, limit: number): Promise<BigTable[]> {
  const r = await client.query<{ name: string; bytes: string; rows: string }>(
    `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name,
            pg_table_size(c.oid) as bytes, c.reltuples::bigint as rows
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by pg_table_size(c.oid) desc limit $1`,
    [limit],
  );
  return r.rows
    .map((row) => ({ name: row.name, bytes: Number(row.bytes), rows: Number(row.rows) }))
    .filter((t) => t.bytes > 0);
}

/** One table's share of the sample: random pages (TABLESAMPLE SYSTEM), rows as text, cut at `share`. */
async function sampleTable(client: pg.Client, table: BigTable, share: number): Promise<string> {
  const rowBytes = table.rows > 0 ? Math.max(16, table.bytes / table.rows) : 100;
  const rows = Math.ceil(share / rowBytes) + 1;
  // Twice the pages the share needs: a row's text is often longer than its place on disk.
  const percent = Math.min(100, Math.max(0.001, (100 * 2 * share) / table.bytes));
  const r = await client.query<{ sample: string | null }>(
    `select left(string_agg(left(s.r::text, ${MAX_ROW_CHARS}), E'\\n'), $1) as sample
       from (select t as r from ${table.name} as t tablesample system ($2::real) limit $3) as s`,
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
    const tables = await largestTables(client, limits.maxTables);
    const total = tables.reduce((sum, t) => sum + t.bytes, 0);
    const parts: string[] = [];
    for (const table of tables) {
      if (performance.now() - started > limits.timeoutMs) break;
      const part = await sampleTable(client, table, (limits.maxBytes * table.bytes) / total);
      if (part) parts.push(part);
    }
    return { text: Buffer.from(parts.join("\n")), tables: parts.length };
  } finally {
    await client.query("rollback to savepoint dbbackup_sample");
    await client.query("release savepoint dbbackup_sample");
  }
}

const deflate = promisify(zlib.deflate);

/** zlib at `level` over the sample, off the event loop (the bot keeps answering Slack meanwhile). */
async function measureLevel(text: Buffer, level: number): Promise<CandidateFigure> {
  let bytes = 0;
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < TIMINGS; i++) {
    const t0 = performance.now();
    bytes = (await deflate(text, { level })).length;
    ms = Math.min(ms, performance.now() - t0);
  }
  return { spec: `gzip:${level}`, bytes, ms };
}

/**
 * gzip:6 (the size to stay near), no compression, then gzip:1 upwards until a level is within
 * SIZE_ALLOWANCE of gzip:6's size: a higher level is slower still, so it is not measured.
 */
export async function measureSample(sample: RowSample, started: number): Promise<SampleFigures> {
  const reference = await measureLevel(sample.text, 6);
  const candidates: CandidateFigure[] = [reference, { spec: "none", bytes: sample.text.length, ms: 0 }];
  for (let level = 1; level <= 5; level++) {
    const figure = await measureLevel(sample.text, level);
    candidates.push(figure);
    if (figure.bytes <= reference.bytes * SIZE_ALLOWANCE) break;
  }
  const round = (c: CandidateFigure) => ({ ...c, ms: Math.round(c.ms * 10) / 10 });
  return {
    rawBytes: sample.text.length,
    tables: sample.tables,
    ms: Math.round(performance.now() - started),
    candidates: candidates.map(round),
  };
}

/**
 * DBBACKUP_COMPRESS when set; else, on pg_dump ≤ 15, what a sample of the data says; else the
 * default. Never throws: a failed sample keeps the default and says why.
 */
export async function chooseCompression(
  session: SnapshotSession,
  clientMajor: number,
  setting: string | undefined,
): Promise<CompressionChoice> {
  if (setting !== undefined) return settingChoice(setting);
  const fallback = defaultCompression(clientMajor);
  if (clientMajor >= 16) {
    return defaultChoice(
      fallback,
      `pg_dump ${clientMajor}: ${fallback}, not sampled (this Node's zlib has no zstd to measure it with)`,
    );
  }
  const started = performance.now();
  try {
    const sample = await session.sampleRows(SAMPLE_LIMITS);
    if (sample.text.length < MIN_SAMPLE_BYTES) {
      const kb = Math.round(sample.text.length / 1024);
      return defaultChoice(fallback, `too little data to sample (${kb} KB): the default, ${fallback}`);
    }
    return chooseFromSample(await measureSample(sample, started), fallback);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return defaultChoice(fallback, `sample failed (${message}): the default, ${fallback}`);
  }
}
