import { parseToc, useList } from "./toc.js";

/**
 * Stage 2 reads every data block of the archive with pg_restore, which inflates on one core. Split
 * into use-lists (`pg_restore -L`), several pg_restore processes read their share of the tables at
 * once, each seeking straight to its blocks; together they read every entry exactly once. Pure.
 */

/** What may be read apart: the rows of one table (everything else is small and goes to the first). */
const SPLIT_DESC = "TABLE DATA";

/**
 * `pg_restore --list` output → up to `parts` use-lists: TABLE DATA entries spread so the parts'
 * weights (e.g. how long pg_dump took over each table) come out even, heaviest first; every other
 * entry in the first. An entry a list doesn't read is commented out (";"), as pg_restore -L takes
 * it. Fewer lists when there are fewer tables with data than parts.
 */
export function splitUseLists(
  listText: string,
  parts: number,
  weight: (qualifiedName: string) => number,
): string[] {
  const entries = parseToc(listText).entries;
  const data = entries
    .filter((e) => e.desc === SPLIT_DESC)
    .map((e) => ({
      id: e.dumpId,
      weight: Math.max(0, weight(e.namespace ? `${e.namespace}.${e.tag}` : e.tag)),
    }));
  const count = Math.max(1, Math.min(Math.floor(parts), data.length));
  const owner = new Map<number, number>();
  const load = new Array<number>(count).fill(0);
  // Longest processing time first: each table to the part with the least so far.
  for (const d of [...data].sort((a, b) => b.weight - a.weight)) {
    const part = load.indexOf(Math.min(...load));
    owner.set(d.id, part);
    load[part] = (load[part] ?? 0) + d.weight;
  }
  // An entry nobody owns (not table data) is the first part's.
  const skipped = (part: number) =>
    new Set(entries.map((e) => e.dumpId).filter((id) => (owner.get(id) ?? 0) !== part));
  return Array.from({ length: count }, (_, part) => useList(listText, skipped(part)));
}
