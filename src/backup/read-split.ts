import { parseToc } from "./toc.js";

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
  const lines = listText.split("\n");
  const data: { index: number; weight: number }[] = [];
  lines.forEach((line, index) => {
    const entry = parseToc(line).entries[0];
    if (entry?.desc !== SPLIT_DESC) return;
    const name = entry.namespace ? `${entry.namespace}.${entry.tag}` : entry.tag;
    data.push({ index, weight: Math.max(0, weight(name)) });
  });
  const count = Math.max(1, Math.min(Math.floor(parts), data.length));
  const owner = new Map<number, number>();
  const load = new Array<number>(count).fill(0);
  // Longest processing time first: each table to the part with the least so far.
  for (const d of [...data].sort((a, b) => b.weight - a.weight || a.index - b.index)) {
    const part = load.indexOf(Math.min(...load));
    owner.set(d.index, part);
    load[part] = (load[part] ?? 0) + d.weight;
  }
  return Array.from({ length: count }, (_, part) =>
    lines
      .map((line, index) => {
        const entry = /^\d+;/.test(line);
        const mine = owner.has(index) ? owner.get(index) === part : part === 0;
        return entry && !mine ? `;${line}` : line;
      })
      .join("\n"),
  );
}
