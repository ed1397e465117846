import type pg from "pg";
import { NOT_EXTENSION_MEMBER, USER_NAMESPACE } from "./catalog-rules.js";
import type { ReadableRelation } from "./grants.js";

/** The small questions the pipeline asks of the dump's snapshot session, besides the catalog. */

/** "view public.orders_summary": an object of `catalog` by OID, in words; undefined if unknown. */
export async function describeObject(
  client: pg.Client,
  catalog: string,
  oid: number,
): Promise<string | undefined> {
  // Straight from pg_class where possible: describing a damaged object can fail like pg_dump did.
  if (catalog === "pg_class") {
    const r = await client.query<{ name: string; kind: string }>(
      `select n.nspname || '.' || c.relname as name, c.relkind as kind
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = $1`,
      [oid],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const kinds: Record<string, string> = {
      v: "view",
      m: "materialized view",
      i: "index",
      r: "table",
      p: "table",
    };
    return `${kinds[row.kind] ?? "relation"} ${row.name}`;
  }
  const r = await client.query<{ name: string | null }>(
    "select pg_describe_object($1::regclass, $2::oid, 0) as name",
    [catalog, oid],
  );
  return r.rows[0]?.name ?? undefined;
}

/** Who we are on the server, and which tables and sequences pg_dump will need to read. */
export async function readReadability(
  client: pg.Client,
): Promise<{ role: string; relations: ReadableRelation[] }> {
  const r = await client.query<{
    role: string;
    schema: string;
    name: string;
    kind: string;
    usage: boolean;
    select: boolean;
  }>(
    `select current_user as role, n.nspname as schema, c.relname as name, c.relkind as kind,
            has_schema_privilege(n.oid, 'USAGE') as usage, has_table_privilege(c.oid, 'SELECT') as select
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'S') and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}`,
  );
  const role =
    r.rows[0]?.role ?? (await client.query<{ u: string }>("select current_user as u")).rows[0]?.u ?? "";
  return {
    role,
    relations: r.rows.map((row) => ({
      schema: row.schema,
      name: row.name,
      kind: row.kind === "S" ? ("sequence" as const) : ("table" as const),
      schemaUsage: row.usage,
      select: row.select,
    })),
  };
}

/** Tables holding rows (partitions, not their parents): the total of pg_dump's progress. */
export async function countDataTables(client: pg.Client): Promise<number> {
  // What pg_dump dumps the data of: user tables (partitions, not their parents), and the
  // configuration tables extensions registered for dumping.
  const r = await client.query<{ n: string }>(
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relkind = 'r' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")})
          + (select count(*) from pg_extension e cross join unnest(coalesce(e.extconfig, '{}')) as cfg(oid)
              join pg_class c on c.oid = cfg.oid where c.relkind = 'r') as n`,
  );
  return Number(r.rows[0]?.n ?? 0);
}
