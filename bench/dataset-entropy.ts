/**
 * The bench's second database (issue 15): rows of the kind Supabase tables are full of, and that
 * compress poorly: uuid keys, hex hashes, base64url tokens, jsonb carrying them, timestamps and
 * numerics. Filled server-side (md5 and sha256 of the row id, no extension needed), so every run
 * gets the same rows; then primary keys, VACUUM (FREEZE, ANALYZE) and a checkpoint, like the first.
 */
import os from "node:os";
import type pg from "pg";
import { assertLocal, connect, ensureEmptyDatabase, runPool } from "./dataset-connections.js";
import { chunks } from "./dataset-size.js";
import { MB } from "./measure.js";

export const ENTROPY_TARGET_BYTES = 560 * MB;
/** pg_database_size per row loaded (indexes included), measured on Postgres 15; rows scale with the target. */
const BYTES_PER_ROW = 470;
const EMPTY_DATABASE_BYTES = 8 * MB;
const CHUNK = 50_000;

const TABLES = ["sessions", "api_events", "objects"] as const;
type Table = (typeof TABLES)[number];

const SCHEMA_SQL = `
CREATE TABLE sessions (
  id uuid NOT NULL, user_id uuid NOT NULL, refresh_token text NOT NULL, token_hash text NOT NULL,
  ip text NOT NULL, user_agent text NOT NULL, aal text NOT NULL,
  created_at timestamptz NOT NULL, refreshed_at timestamptz, not_after timestamptz NOT NULL);
CREATE TABLE api_events (
  id uuid NOT NULL, project_ref text NOT NULL, request_id uuid NOT NULL, status smallint NOT NULL,
  amount numeric(18,6) NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE objects (
  id uuid NOT NULL, bucket_id text NOT NULL, name text NOT NULL, owner uuid NOT NULL,
  etag text NOT NULL, version uuid NOT NULL, metadata jsonb NOT NULL, created_at timestamptz NOT NULL);
`;

/** 32 random-looking bytes as base64url (43 characters), from two md5s of `seed`. */
const token = (seed: string) =>
  `rtrim(translate(encode(decode(md5('a' || ${seed}) || md5('b' || ${seed}), 'hex'), 'base64'), '+/', '-_'), '=')`;
const sha256Hex = (seed: string) => `encode(sha256(convert_to(${seed}, 'UTF8')), 'hex')`;

function loadSql(table: Table, ids: string, n: number): string {
  switch (table) {
    case "sessions":
      return `INSERT INTO sessions
        SELECT md5('s' || id)::uuid, md5('u' || (id % ${Math.max(1, Math.floor(n / 4))}))::uuid, ${token("'r' || id")},
          ${sha256Hex("'t' || id")}, '10.' || pg_temp.r(id, 1) % 256 || '.' || pg_temp.r(id, 2) % 256 || '.' || pg_temp.r(id, 3) % 256,
          pg_temp.user_agent(pg_temp.r(id, 4)), CASE WHEN pg_temp.r(id, 5) % 4 = 0 THEN 'aal2' ELSE 'aal1' END,
          pg_temp.at(id, ${n}, 3600), CASE WHEN pg_temp.r(id, 6) % 3 > 0 THEN pg_temp.at(id, ${n}, 86400) END,
          pg_temp.at(id, ${n}, 3600) + interval '7 days'
        FROM ${ids}`;
    case "api_events":
      return `INSERT INTO api_events
        SELECT md5('e' || id)::uuid, translate(substr(md5('p' || id % 97), 1, 20), '0123456789', 'ghijklmnop'),
          md5('q' || id)::uuid, (ARRAY[200, 200, 200, 201, 204, 400, 401, 404, 500])[1 + pg_temp.r(id, 1) % 9],
          (pg_temp.r(id, 2) % 100000000000) / 1000000.0,
          jsonb_build_object('trace_id', md5('tr' || id), 'span_id', substr(md5('sp' || id), 1, 16),
            'token', ${token("'k' || id")}, 'signature', ${sha256Hex("'g' || id")},
            'client', jsonb_build_object('id', md5('c' || id % 5000)::uuid, 'nonce', substr(md5('n' || id), 1, 24)),
            'amount', (pg_temp.r(id, 3) % 10000000) / 100.0, 'at', extract(epoch FROM pg_temp.at(id, ${n}, 60))),
          pg_temp.at(id, ${n}, 60)
        FROM ${ids}`;
    case "objects":
      return `INSERT INTO objects
        SELECT md5('o' || id)::uuid, (ARRAY['avatars', 'uploads', 'exports', 'media'])[1 + pg_temp.r(id, 1) % 4],
          md5('w' || id % 20000)::uuid || '/' || substr(md5('f' || id), 1, 12) || '.'
            || (ARRAY['png', 'jpg', 'pdf', 'webp', 'json'])[1 + pg_temp.r(id, 2) % 5],
          md5('w' || id % 20000)::uuid, md5('x' || id), md5('v' || id)::uuid,
          jsonb_build_object('eTag', '"' || md5('x' || id) || '"', 'size', pg_temp.r(id, 3) % 20000000,
            'mimetype', (ARRAY['image/png', 'image/jpeg', 'application/pdf', 'image/webp'])[1 + pg_temp.r(id, 2) % 4],
            'cacheControl', 'max-age=3600', 'contentLength', pg_temp.r(id, 3) % 20000000,
            'sha256', ${sha256Hex("'x' || id")}, 'httpStatusCode', 200),
          pg_temp.at(id, ${n}, 3600)
        FROM ${ids}`;
  }
}

export interface EntropyDatabase {
  databaseBytes: number;
  rows: number;
  ms: number;
}

/** Each table gets a third of the rows; chunks of all tables, shared over the connections. */
async function loadAll(clients: pg.Client[], perTable: number, log: (line: string) => void): Promise<void> {
  const loads = TABLES.flatMap((table) => chunks(perTable, CHUNK).map(([lo, hi]) => ({ table, lo, hi })));
  let done = 0;
  await runPool(clients, loads, async (client, { table, lo, hi }) => {
    await client.query(loadSql(table, `generate_series(${lo}::bigint, ${hi}::bigint) AS g(id)`, perTable));
    done++;
    if (done % 10 === 0 || done === loads.length) log(`high-entropy: loaded ${done}/${loads.length} chunks`);
  });
}

/** Create and fill the high-entropy database at `url` (created if missing; must be empty). */
export async function createEntropyDatabase(
  url: string,
  targetBytes: number,
  log: (line: string) => void,
): Promise<EntropyDatabase> {
  assertLocal(url);
  const started = performance.now();
  await ensureEmptyDatabase(url);
  const perTable = Math.max(1_000, Math.round((targetBytes - EMPTY_DATABASE_BYTES) / BYTES_PER_ROW / 3));
  const clients = await connect(url, Math.min(6, Math.max(2, os.availableParallelism())));
  const [first] = clients;
  if (!first) throw new Error("no connection");
  try {
    await first.query(SCHEMA_SQL);
    await loadAll(clients, perTable, log);
    await runPool(clients, [...TABLES], async (client, table) => {
      await client.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
      await client.query(`VACUUM (FREEZE, ANALYZE) ${table}`);
    });
    await first.query("CHECKPOINT");
    const size = await first.query<{ bytes: string }>(
      "SELECT pg_database_size(current_database())::bigint AS bytes",
    );
    const databaseBytes = Number(size.rows[0]?.bytes);
    return { databaseBytes, rows: perTable * TABLES.length, ms: performance.now() - started };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
