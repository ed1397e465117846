/** What every catalog read shares: what counts as the user's (as pg_dump sees it), how rows are sized. */

export const USER_NAMESPACE = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'`;

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
