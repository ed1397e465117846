import type pg from "pg";
import { quoteIdent } from "../backup/grants.js";
import type { ShippedObjects } from "./shipped-overlap.js";

/**
 * What the target already has in the shipped schemas, keyed as pg_dump tags it (function arguments
 * as types only, qualified outside pg_catalog), so the archive's TOC can be held against it.
 */
const OBJECTS = `
  select 'SCHEMA ' || nspname || ' ' || nspname as key from pg_namespace where nspname = any($1)
  union all
  select 'RELATION ' || n.nspname || ' ' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')
  union all
  select 'FUNCTION ' || n.nspname || ' ' || p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')'
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = any($1)
  union all
  select 'TYPE ' || n.nspname || ' ' || t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where n.nspname = any($1)
  union all
  select 'CONSTRAINT ' || n.nspname || ' ' || c.relname || ' ' || k.conname from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = any($1)
  union all
  select 'TRIGGER ' || n.nspname || ' ' || c.relname || ' ' || t.tgname from pg_trigger t
    join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any($1) and not t.tgisinternal
  union all
  select 'POLICY ' || schemaname || ' ' || tablename || ' ' || policyname from pg_policies where schemaname = any($1)`;

const TABLES = `
  select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = any($1) and c.relkind = 'r' order by 1, 2`;

const OWNED_SEQUENCES = `
  select sn.nspname || '.' || s.relname as sequence, tn.nspname || '.' || t.relname as "table"
    from pg_depend d
    join pg_class s on s.oid = d.objid and s.relkind = 'S' join pg_namespace sn on sn.oid = s.relnamespace
    join pg_class t on t.oid = d.refobjid join pg_namespace tn on tn.oid = t.relnamespace
   where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
     and d.deptype in ('a', 'i') and sn.nspname = any($1)`;

export async function readShippedObjects(
  client: pg.Client,
  schemas: readonly string[],
): Promise<ShippedObjects> {
  const names = [...schemas];
  // As pg_dump names types in a function's tag: qualified unless in pg_catalog.
  await client.query("set search_path = pg_catalog");
  const keys = await client.query<{ key: string }>(OBJECTS, [names]);
  const tables = await client.query<{ schema: string; name: string }>(TABLES, [names]);
  const owned = await client.query<{ sequence: string; table: string }>(OWNED_SEQUENCES, [names]);
  const tablesWithRows = new Set<string>();
  for (const t of tables.rows) {
    const relation = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    // A table we may not read counts as holding rows: the project's are kept, never overwritten.
    const rows = await client
      .query<{ any: boolean }>(`select exists (select 1 from only ${relation}) as any`)
      .then((r) => r.rows[0]?.any !== false)
      .catch(() => true);
    if (rows) tablesWithRows.add(`${t.schema}.${t.name}`);
  }
  return {
    keys: new Set(keys.rows.map((r) => r.key)),
    tablesWithRows,
    sequenceTables: new Map(owned.rows.map((r) => [r.sequence, r.table])),
  };
}

/** Whether this login may set session_replication_role (superuser, or granted SET on Postgres 15+). */
export async function canPauseTriggers(client: pg.Client, serverMajor: number): Promise<boolean> {
  const query =
    serverMajor >= 15
      ? "select has_parameter_privilege('session_replication_role', 'SET') as ok"
      : "select rolsuper as ok from pg_roles where rolname = current_user";
  const r = await client.query<{ ok: boolean }>(query).catch(() => undefined);
  return r?.rows[0]?.ok === true;
}
