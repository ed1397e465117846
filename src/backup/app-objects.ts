import { z } from "zod/v3";
import {
  countExactly,
  NOT_EXTENSION_MEMBER,
  quoteIdent,
  rowsToCount,
  type ToCount,
  USER_NAMESPACE,
} from "./catalog-rules.js";

/**
 * What breaks an app after a restore though every table came back: a sequence behind its table
 * (duplicate keys on the next insert), a missing function, an unpopulated materialized view, a
 * missing trigger. Recorded at dump time, compared after a restore (restore/parity-objects.ts).
 */

export const sequencePositionSchema = z.object({
  schema: z.string(),
  name: z.string(),
  /** A bigint, as text: JSON numbers lose precision past 2^53. */
  lastValue: z.string(),
  isCalled: z.boolean(),
  /** Its step, as text: which way is "ahead". */
  increment: z.string(),
});
export type SequencePosition = z.infer<typeof sequencePositionSchema>;

export const materializedViewInfoSchema = z.object({
  schema: z.string(),
  name: z.string(),
  populated: z.boolean(),
  /** Rows when populated: exact when small enough to count, else the planner's estimate. */
  rows: z.number(),
  exact: z.boolean(),
});
export type MaterializedViewInfo = z.infer<typeof materializedViewInfoSchema>;

export const appObjectsSchema = z.object({
  /** Per schema: "function f(integer, public.mood)", "procedure p()", … sorted. */
  functions: z.record(z.string(), z.array(z.string())),
  materializedViews: z.array(materializedViewInfoSchema),
  /** Per table ("schema.table"): its triggers' names (not the ones Postgres makes for foreign keys). */
  triggers: z.record(z.string(), z.array(z.string())),
  eventTriggers: z.array(z.string()),
});
export type AppObjects = z.infer<typeof appObjectsSchema>;

interface Queryable {
  query<R extends object>(text: string): Promise<{ rows: R[] }>;
}

/** [key, value] pairs → values per key, in the order given. */
function grouped(pairs: [string, string][]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of pairs) {
    const list = out[key] ?? [];
    list.push(value);
    out[key] = list;
  }
  return out;
}

/** Sequences read per query (a UNION ALL). */
const SEQUENCE_BATCH = 100;

/**
 * Every user sequence's position. Sequences live outside snapshots, so the dump's value is whatever
 * pg_dump read: read this before pg_dump starts, and the archive's value can only be at or past it.
 */
export async function readSequencePositions(client: Queryable): Promise<SequencePosition[]> {
  const { rows: sequences } = await client.query<{ schema: string; name: string; increment: string }>(
    `select n.nspname as schema, c.relname as name, s.seqincrement::text as increment
       from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_sequence s on s.seqrelid = c.oid
      where c.relkind = 'S' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by 1, 2`,
  );
  const positions: SequencePosition[] = [];
  for (let i = 0; i < sequences.length; i += SEQUENCE_BATCH) {
    const batch = sequences.slice(i, i + SEQUENCE_BATCH);
    const { rows } = await client.query<{ i: number; last: string; called: boolean }>(
      batch
        .map(
          (s, j) =>
            `select ${j} as i, last_value::text as last, is_called as called from ${quoteIdent(s.schema)}.${quoteIdent(s.name)}`,
        )
        .join(" union all "),
    );
    for (const row of rows) {
      const s = batch[row.i];
      if (s) positions.push({ ...s, lastValue: row.last, isCalled: row.called });
    }
  }
  return positions;
}

/** Type names that read the same whatever the session's search_path: pg_catalog's plain, others qualified. */
const ARGUMENT_TYPES = `coalesce((
  select string_agg(case when tn.nspname = 'pg_catalog' then format_type(t.oid, null)
                         else tn.nspname || '.' || coalesce(elem.typname || '[]', t.typname) end,
                    ', ' order by a.i)
    from unnest(p.proargtypes) with ordinality a(oid, i)
    join pg_type t on t.oid = a.oid
    join pg_namespace tn on tn.oid = t.typnamespace
    left join pg_type elem on elem.oid = t.typelem and t.typcategory = 'A'), '')`;

/** Functions and procedures per schema: what pg_dump dumps (not extensions', not made with a type). */
async function readFunctions(client: Queryable): Promise<AppObjects["functions"]> {
  const { rows } = await client.query<{ schema: string; signature: string }>(
    `select n.nspname as schema,
            case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end
              || ' ' || p.proname || '(' || ${ARGUMENT_TYPES} || ')' as signature
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_proc", "p.oid")}
        and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                          and d.objid = p.oid and d.deptype = 'i')
      order by 1, 2`,
  );
  return grouped(rows.map((r) => [r.schema, r.signature]));
}

async function readTriggers(client: Queryable): Promise<Pick<AppObjects, "triggers" | "eventTriggers">> {
  const { rows } = await client.query<{ tbl: string; name: string }>(
    `select n.nspname || '.' || c.relname as tbl, t.tgname as name
       from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where not t.tgisinternal and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by 1, 2`,
  );
  const triggers = grouped(rows.map((r) => [r.tbl, r.name]));
  const events = await client.query<{ name: string }>(
    `select e.evtname as name from pg_event_trigger e
      where ${NOT_EXTENSION_MEMBER("pg_event_trigger", "e.oid")} order by 1`,
  );
  return { triggers, eventTriggers: events.rows.map((r) => r.name) };
}

/** Materialized views, populated or not, with their rows (counted exactly up to `exactCountMaxRows`). */
async function readMaterializedViews(
  client: Queryable,
  exactCountMaxRows: number,
): Promise<MaterializedViewInfo[]> {
  const { rows } = await client.query<{
    schema: string;
    name: string;
    populated: boolean;
    reltuples: string;
    bytes: string;
  }>(
    `select n.nspname as schema, c.relname as name, c.relispopulated as populated,
            c.reltuples::bigint::text as reltuples, pg_relation_size(c.oid) as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'm' and ${USER_NAMESPACE} and ${NOT_EXTENSION_MEMBER("pg_class", "c.oid")}
      order by 1, 2`,
  );
  const views: MaterializedViewInfo[] = [];
  const toCount: ToCount[] = [];
  for (const m of rows) {
    const sized = rowsToCount(Number(m.reltuples), Number(m.bytes));
    // Counting an unpopulated one is an error; a big one is left at the planner's figure.
    if (m.populated && sized.atMost <= exactCountMaxRows)
      toCount.push({ at: views.length, schema: m.schema, name: m.name });
    const rows = m.populated ? sized.estimate : 0;
    views.push({ schema: m.schema, name: m.name, populated: m.populated, rows, exact: !m.populated });
  }
  await countExactly(client, views, toCount);
  return views;
}

/** Functions, materialized views and triggers, in the caller's snapshot. */
export async function readAppObjects(client: Queryable, exactCountMaxRows: number): Promise<AppObjects> {
  const functions = await readFunctions(client);
  const materializedViews = await readMaterializedViews(client, exactCountMaxRows);
  const { triggers, eventTriggers } = await readTriggers(client);
  return { functions, materializedViews, triggers, eventTriggers };
}
