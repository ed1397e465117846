/** What every catalog read shares: what counts as the user's (as pg_dump sees it), how rows are sized and counted. */

export const USER_NAMESPACE = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'`;

/** An identifier quoted for SQL, whatever it holds. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Not created by an extension (pg_dump leaves those to CREATE EXTENSION). */
export const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;

/** The smallest a heap row can be on disk (tuple header and item pointer): bounds a never-analyzed table's rows. */
const MIN_ROW_BYTES = 28;
/** A typical row's bytes, for an estimate of a never-analyzed table. */
const TYPICAL_ROW_BYTES = 100;

/**
 * How many rows a table may hold, and an estimate. An analyzed table has the planner's reltuples; a
 * never-analyzed one (reltuples -1) is judged by its size, so a big table nobody analyzed yet is not
 * counted row by row as if it were empty. Pure.
 */
export function rowsToCount(reltuples: number, bytes: number): { atMost: number; estimate: number } {
  if (reltuples >= 0) return { atMost: reltuples, estimate: Math.round(reltuples) };
  return { atMost: Math.floor(bytes / MIN_ROW_BYTES), estimate: Math.round(bytes / TYPICAL_ROW_BYTES) };
}

interface Queryable {
  query<R extends object>(text: string): Promise<{ rows: R[] }>;
}

/** Tables counted per query (a UNION ALL of count(*)s). */
const COUNT_BATCH = 50;

export interface ToCount {
  /** Index into the infos the counts are written to. */
  at: number;
  schema: string;
  name: string;
}

/** Counts the queued relations exactly, writing the counts into `infos` (by `at`). */
export async function countExactly(
  client: Queryable,
  infos: { rows: number; exact: boolean }[],
  toCount: ToCount[],
): Promise<void> {
  // Exact counts in a few round trips, not one per table: over a remote link each costs tens of ms.
  for (let i = 0; i < toCount.length; i += COUNT_BATCH) {
    const batch = toCount.slice(i, i + COUNT_BATCH);
    const r = await client
      .query<{ i: number; n: string }>(
        batch
          .map(
            (t, j) =>
              `select ${j} as i, count(*) as n from only ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
          )
          .join(" union all "),
      )
      .catch((error: unknown) => {
        const names = batch.map((t) => `${t.schema}.${t.name}`);
        const table =
          names.length === 1
            ? names[0]
            : `one of ${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}`;
        throw Object.assign(error as object, { table });
      });
    for (const row of r.rows) {
      const t = batch[row.i];
      const info = t ? infos[t.at] : undefined;
      if (info) Object.assign(info, { rows: Number(row.n), exact: true });
    }
  }
}
