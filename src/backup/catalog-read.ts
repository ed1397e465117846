import pg from "pg";
import { readAppObjects, readSequencePositions } from "./app-objects.js";
import {
  countExactly,
  NOT_EXTENSION_MEMBER,
  rowsToCount,
  type ToCount,
  USER_NAMESPACE,
} from "./catalog-rules.js";
import type { CatalogSnapshot, ExtensionInfo, TableInfo, ViewInfo } from "./catalog-snapshot.js";

/**
 * What the catalog says, read in the dump's snapshot (or from a restored scratch copy): extensions,
 * views and their reloptions, policies, counts, every table's rows, and the functions, materialized
 * views and triggers a restore must bring back.
 */

const TRUE_WORDS = new Set(["true", "on", "yes", "1"]);

export function securityInvokerTrue(view: ViewInfo): boolean {
  return view.reloptions.some((option) => {
    const [key, value] = option.split("=");
    return key === "security_invoker" && value !== undefined && TRUE_WORDS.has(value.toLowerCase());
  });
}

export interface ServerVersion {
  version: string;
  serverVersionNum: number;
}

/** Extensions, views (all of them, and those the API roles can read past RLS), and policies per table. */
async function readSchemaObjects(client: pg.Client) {
  // pg_dump skips extensions created by initdb (plpgsql): oid below FirstNormalObjectId.
  const extensions = await client.query<ExtensionInfo & { builtin: boolean }>(
    `select e.extname as name, e.extversion as version, n.nspname as schema, e.oid < 16384 as builtin
       from pg_extension e join pg_namespace n on n.oid = e.extnamespace order by 1`,
  );
  const views = await client.query<{ schema: string; name: string; reloptions: string[] | null }>(
    `select n.nspname as schema, c.relname as name, c.reloptions
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'v' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by 1, 2`,
  );
  const exposed = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'v' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
        and not exists (select 1 from unnest(coalesce(c.reloptions, '{}')) o
                         where lower(o) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=yes', 'security_invoker=1'))
        and exists (select 1 from pg_roles r where r.rolname in ('anon', 'authenticated')
                       and has_table_privilege(r.oid, c.oid, 'SELECT'))
      order by 1`,
  );
  const policyRows = await client.query<{ name: string; n: string }>(
    `select n.nspname || '.' || c.relname as name, count(*) as n
       from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
      where ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      group by 1 order by 1`,
  );
  return {
    extensions: extensions.rows,
    views: views.rows,
    exposed: exposed.rows,
    policyRows: policyRows.rows,
  };
}

interface TableRow {
  schema: string;
  name: string;
  kind: string;
  reltuples: string;
  bytes: string;
}

/** Every user table with its planner figures and size, and the object counts the manifest records. */
async function readTablesAndCounts(client: pg.Client) {
  const tables = await client.query<TableRow>(
    `select n.nspname as schema, c.relname as name, c.relkind as kind,
            c.reltuples::bigint as reltuples, pg_relation_size(c.oid) as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by 1, 2`,
  );
  const counts = await client.query<Record<string, string>>(
    `select
       (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'm' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}) as matviews,
       (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'S' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}) as sequences,
       (select count(*) from pg_policy p join pg_class c on c.oid = p.polrelid
          join pg_namespace n on n.oid = c.relnamespace
         where ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}) as policies,
       (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}
           -- Made by the system with another object (a range type's constructors): pg_dump leaves
           -- them out, so a count of "functions" that includes them disagrees with the dump's.
           and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                             and d.objid = p.oid and d.deptype = 'i')) as functions,
       pg_database_size(current_database()) as dbsize`,
  );
  return { tables: tables.rows, counts: counts.rows[0] ?? {} };
}

/**
 * Every table at its estimate (partitioned parents hold no rows), and which are small enough to
 * count exactly. Pure.
 */
function planTableCounts(
  tables: TableRow[],
  exactCountMaxRows: number,
): { tableInfos: TableInfo[]; toCount: ToCount[] } {
  const tableInfos: TableInfo[] = [];
  const toCount: ToCount[] = [];
  for (const t of tables) {
    if (t.kind === "p") {
      tableInfos.push({ schema: t.schema, name: t.name, partitioned: true, rows: 0, exact: true });
      continue;
    }
    const sized = rowsToCount(Number(t.reltuples), Number(t.bytes));
    if (sized.atMost <= exactCountMaxRows)
      toCount.push({ at: tableInfos.length, schema: t.schema, name: t.name });
    tableInfos.push({
      schema: t.schema,
      name: t.name,
      partitioned: false,
      rows: sized.estimate,
      exact: false,
    });
  }
  return { tableInfos, toCount };
}

export async function readCatalog(
  client: pg.Client,
  exactCountMaxRows: number,
  database: string,
  server: ServerVersion,
): Promise<CatalogSnapshot> {
  const { extensions, views, exposed, policyRows } = await readSchemaObjects(client);
  const { tables, counts: c } = await readTablesAndCounts(client);
  const { tableInfos, toCount } = planTableCounts(tables, exactCountMaxRows);
  await countExactly(client, tableInfos, toCount);
  const objects = await readAppObjects(client, exactCountMaxRows);
  return {
    version: server.version,
    serverVersionNum: server.serverVersionNum,
    serverMajor: Math.floor(server.serverVersionNum / 10_000),
    database,
    databaseBytes: Number(c.dbsize),
    extensions: extensions.map(({ name, version, schema }) => ({ name, version, schema })),
    views: views.map((v) => ({ schema: v.schema, name: v.name, reloptions: v.reloptions ?? [] })),
    exposedViews: exposed.map((r) => r.name),
    policiesByTable: Object.fromEntries(policyRows.map((r) => [r.name, Number(r.n)])),
    tables: tableInfos,
    objects,
    counts: {
      tables: tables.length,
      views: views.length,
      materializedViews: Number(c.matviews),
      policies: Number(c.policies),
      extensions: extensions.filter((e) => !e.builtin).length,
      functions: Number(c.functions),
      sequences: Number(c.sequences),
    },
  };
}

/**
 * The catalog of a database we own outright (a restore test's scratch copy): every table counted
 * exactly, no snapshot needed.
 */
export async function readCatalogOf(url: string): Promise<CatalogSnapshot> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const v = await client.query<{ version: string; num: string; db: string }>(
      "select version() as version, current_setting('server_version_num') as num, current_database() as db",
    );
    const row = v.rows[0];
    const catalog = await readCatalog(client, Number.POSITIVE_INFINITY, row?.db ?? "", {
      version: row?.version ?? "",
      serverVersionNum: Number(row?.num),
    });
    return { ...catalog, sequences: await readSequencePositions(client) };
  } finally {
    // Not waited for: the server's goodbye (its backend exiting) takes a while and decides nothing.
    void client.end().catch(() => {});
  }
}
