import type { CatalogCounts } from "./catalog-snapshot.js";

/** Parsing `pg_restore --list`: pure, so it is tested on text alone. */

export interface TocEntry {
  dumpId: number;
  desc: string;
  namespace: string | undefined;
  /** The object's name as pg_dump tags it, e.g. "tenants" or "profiles own_profile" for a policy. */
  tag: string;
}

/** The archive's counts, named as the live catalog's so the two compare key by key. */
export interface TocCounts extends CatalogCounts {
  tableData: number;
}

export interface Toc {
  entries: TocEntry[];
  /** "TOC Entries" from the header: every entry, including those --list omits as not selected. */
  headerEntries: number | undefined;
  dumpedFrom: string | undefined;
  dumpedBy: string | undefined;
  compression: string | undefined;
  format: string | undefined;
}

// Longest first, so "TABLE DATA" wins over "TABLE".
const MULTI_WORD_DESCS = [
  "MATERIALIZED VIEW DATA",
  "MATERIALIZED VIEW",
  "TABLE DATA",
  "SEQUENCE SET",
  "SEQUENCE OWNED BY",
  "FK CONSTRAINT",
  "DEFAULT ACL",
  "ROW SECURITY",
  "EVENT TRIGGER",
  "FOREIGN TABLE",
  "FOREIGN DATA WRAPPER",
  "FOREIGN SERVER",
  "USER MAPPING",
  "TEXT SEARCH CONFIGURATION",
  "TEXT SEARCH DICTIONARY",
  "TEXT SEARCH PARSER",
  "TEXT SEARCH TEMPLATE",
  "OPERATOR CLASS",
  "OPERATOR FAMILY",
  "LARGE OBJECT",
  "BLOB DATA",
  "PUBLICATION TABLE",
  "PUBLICATION TABLES IN SCHEMA",
  "STATISTICS DATA",
  "SHELL TYPE",
  "INDEX ATTACH",
  "TABLE ATTACH",
  "ACCESS METHOD",
  "DATABASE PROPERTIES",
];

const ENTRY = /^(\d+);\s+\d+\s+\d+\s+(.*)$/;

function header(text: string, name: string): string | undefined {
  const m = new RegExp(`^;\\s+${name}:\\s*(.*)$`, "m").exec(text);
  return m?.[1]?.trim();
}

export function parseToc(text: string): Toc {
  const entries: TocEntry[] = [];
  for (const line of text.split("\n")) {
    const m = ENTRY.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const rest = m[2];
    const desc = MULTI_WORD_DESCS.find((d) => rest.startsWith(`${d} `)) ?? rest.split(" ")[0] ?? "";
    const after = rest.slice(desc.length).trim().split(" ");
    const namespace = after[0] === "-" ? undefined : after[0];
    // The last word is the owner (may be absent); the tag is what lies between.
    const tag = after.slice(1, after.length > 2 ? -1 : undefined).join(" ");
    entries.push({ dumpId: Number(m[1]), desc, namespace, tag });
  }
  const total = header(text, "TOC Entries");
  return {
    entries,
    headerEntries: total ? Number(total) : undefined,
    dumpedFrom: header(text, "Dumped from database version"),
    dumpedBy: header(text, "Dumped by pg_dump version"),
    compression: header(text, "Compression"),
    format: header(text, "Format"),
  };
}

export function tocCounts(toc: Toc): TocCounts {
  const count = (...descs: string[]) => toc.entries.filter((e) => descs.includes(e.desc)).length;
  return {
    tables: count("TABLE"),
    views: count("VIEW"),
    materializedViews: count("MATERIALIZED VIEW"),
    policies: count("POLICY"),
    extensions: count("EXTENSION"),
    functions: count("FUNCTION", "PROCEDURE", "AGGREGATE"),
    sequences: count("SEQUENCE"),
    tableData: count("TABLE DATA"),
  };
}

/** `pg_restore --list` with the skipped entries commented out: a file for --use-list, order kept. */
export function useList(listText: string, skip: ReadonlySet<number>): string {
  return listText
    .split("\n")
    .map((line) => {
      const id = /^(\d+);/.exec(line)?.[1];
      return id !== undefined && skip.has(Number(id)) ? `;${line}` : line;
    })
    .join("\n");
}
