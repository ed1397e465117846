/**
 * Per-table row counts between two states of a database (the previous verified backup and this
 * one, or a backup and live): what grew, what shrank, and loudly what lost more than a given share of
 * its rows or disappeared — the runbook's "before bulk data operations", caught after the fact. Pure.
 */

export interface TableRows {
  schema: string;
  name: string;
  partitioned: boolean;
  rows: number;
  /** false: the planner's estimate (big tables), so small moves mean little. */
  exact: boolean;
}

export interface RowChange {
  table: string;
  before: number;
  after: number;
  /** Both counts exact. */
  exact: boolean;
  /** Lost more than the threshold's share of its rows. */
  alarming: boolean;
}

export interface RowChanges {
  /** A table losing more than this percentage of its rows is flagged. */
  dropPercent: number;
  /** Tables whose count changed: flagged ones first, then by relative change. */
  changed: RowChange[];
  /** Tables there before and gone now: always flagged. */
  disappeared: { table: string; before: number }[];
  appeared: { table: string; after: number }[];
  /** How many are flagged (lost rows beyond the threshold, or disappeared). */
  alarms: number;
}

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export function diffRows(
  before: readonly TableRows[],
  after: readonly TableRows[],
  dropPercent: number,
): RowChanges {
  const old = new Map(before.filter((t) => !t.partitioned).map((t) => [key(t), t]));
  const now = new Map(after.filter((t) => !t.partitioned).map((t) => [key(t), t]));
  const changed: RowChange[] = [];
  for (const [table, b] of old) {
    const a = now.get(table);
    if (!a || a.rows === b.rows) continue;
    changed.push({
      table,
      before: b.rows,
      after: a.rows,
      exact: a.exact && b.exact,
      alarming: b.rows > 0 && a.rows < b.rows * (1 - dropPercent / 100),
    });
  }
  const relative = (c: RowChange) => Math.abs(c.after - c.before) / Math.max(1, c.before);
  // Flagged first, then the biggest relative change.
  changed.sort(
    (x, y) =>
      Number(y.alarming) - Number(x.alarming) || relative(y) - relative(x) || x.table.localeCompare(y.table),
  );
  const disappeared = [...old.keys()]
    .filter((t) => !now.has(t))
    .sort()
    .map((table) => ({ table, before: old.get(table)?.rows ?? 0 }));
  const appeared = [...now.keys()]
    .filter((t) => !old.has(t))
    .sort()
    .map((table) => ({ table, after: now.get(table)?.rows ?? 0 }));
  return {
    dropPercent,
    changed,
    disappeared,
    appeared,
    alarms: changed.filter((c) => c.alarming).length + disappeared.length,
  };
}

const n = (x: number) => x.toLocaleString("en-US");

/** The flagged changes, one line each: "public.orders lost 42% of its rows (1,200 → 696)". */
export function rowAlarms(r: RowChanges): string[] {
  return [
    ...r.changed
      .filter((c) => c.alarming)
      .map(
        (c) =>
          `${c.table} lost ${Math.round(((c.before - c.after) / c.before) * 100)}% of its rows (${n(c.before)} → ${n(c.after)}${c.exact ? "" : ", estimated"})`,
      ),
    ...r.disappeared.map((d) => `${d.table} is gone (it had ${n(d.before)} rows)`),
  ];
}

/** "3 tables changed, 1 new" or "no table changed". */
export function rowSummary(r: RowChanges): string {
  const parts: string[] = [];
  if (r.changed.length > 0)
    parts.push(`${r.changed.length} table${r.changed.length === 1 ? "" : "s"} changed`);
  if (r.appeared.length > 0) parts.push(`${r.appeared.length} new`);
  if (r.disappeared.length > 0) parts.push(`${r.disappeared.length} gone`);
  return parts.length > 0 ? parts.join(", ") : "no table's row count changed";
}
