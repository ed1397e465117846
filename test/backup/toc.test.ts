import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseToc, tocCounts } from "../../src/backup/toc.js";

/**
 * test/fixtures/supabase.toc.txt is real `pg_restore --list` output (Postgres 15, pg_dump 15.18 -Fc)
 * of src/demo/supabase-sample.sql loaded into a fresh database.
 */
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const tocText = readFileSync(path.join(fixtures, "supabase.toc.txt"), "utf8");
const expected = JSON.parse(readFileSync(path.join(fixtures, "supabase.expected.json"), "utf8")) as {
  counts: {
    tables: number;
    partitionedTables: number;
    views: number;
    materializedViews: number;
    policies: number;
  };
  extensions: string[];
};

describe("parseToc on a real pg_restore --list of the Supabase fixture", () => {
  const toc = parseToc(tocText);
  const counts = tocCounts(toc);

  it("counts what the live catalog counts", () => {
    expect(counts.tables).toBe(expected.counts.tables);
    expect(counts.views).toBe(expected.counts.views);
    expect(counts.materializedViews).toBe(expected.counts.materializedViews);
    expect(counts.policies).toBe(expected.counts.policies);
    // pg_dump never dumps plpgsql (created by initdb); the live count leaves it out too.
    expect(counts.extensions).toBe(expected.extensions.filter((e) => e !== "plpgsql").length);
  });

  it("does not count TABLE DATA, TABLE ATTACH, MATERIALIZED VIEW DATA or ACLs on tables as objects", () => {
    // Every relkind r table has a data entry; the partitioned parent holds none.
    expect(counts.tableData).toBe(expected.counts.tables - expected.counts.partitionedTables);
    expect(toc.entries.filter((e) => e.desc === "TABLE ATTACH")).toHaveLength(4);
    expect(toc.entries.filter((e) => e.desc === "MATERIALIZED VIEW DATA")).toHaveLength(1);
    expect(toc.entries.filter((e) => e.desc === "ACL").length).toBeGreaterThan(10);
  });

  it("counts functions and sequences", () => {
    expect(counts.functions).toBe(3);
    expect(counts.sequences).toBe(2);
  });

  it("reads the header", () => {
    expect(toc.headerEntries).toBe(144);
    expect(toc.format).toBe("CUSTOM");
    expect(toc.dumpedFrom).toMatch(/^15\.\d+/);
    expect(toc.dumpedBy).toMatch(/^15\.\d+/);
    expect(toc.compression).toBeDefined();
  });

  it("lists every selected entry line, none of the comment lines", () => {
    const entryLines = tocText.split("\n").filter((l) => /^\d+;/.test(l));
    expect(toc.entries).toHaveLength(entryLines.length);
    expect(toc.entries.length).toBeGreaterThan(100);
  });

  it("reads dump id, desc, namespace and tag of an entry", () => {
    expect(toc.entries.find((e) => e.desc === "TABLE" && e.tag === "tenants")).toEqual({
      dumpId: 224,
      desc: "TABLE",
      namespace: "public",
      tag: "tenants",
    });
    expect(toc.entries.find((e) => e.desc === "EXTENSION" && e.tag === "citext")?.namespace).toBeUndefined();
    expect(toc.entries.find((e) => e.desc === "MATERIALIZED VIEW")?.tag).toBe("tenant_monthly_activity");
  });

  it("keeps a policy's table and its multi-word name together as the tag", () => {
    const policy = toc.entries.find((e) => e.dumpId === 3706);
    expect(policy).toEqual({
      dumpId: 3706,
      desc: "POLICY",
      namespace: "public",
      tag: "events Actors read their events",
    });
  });
});

describe("parseToc on small inputs", () => {
  it("gives nothing for empty or header-only text", () => {
    const toc = parseToc(";\n; Archive created at 2026-01-01\n;\n");
    expect(toc.entries).toEqual([]);
    expect(toc.headerEntries).toBeUndefined();
    expect(tocCounts(toc).tables).toBe(0);
  });

  it("skips entries commented out with ;", () => {
    const toc = parseToc(
      "224; 1259 16657 TABLE public tenants postgres\n;225; 1259 16669 TABLE public profiles postgres\n",
    );
    expect(tocCounts(toc).tables).toBe(1);
  });

  it("tells TABLE DATA from a TABLE whose name starts with DATA", () => {
    const toc = parseToc(
      [
        "300; 1259 16657 TABLE public DATA postgres",
        "301; 0 16657 TABLE DATA public DATA postgres",
        "302; 1259 16700 VIEW public VIEW postgres",
      ].join("\n"),
    );
    const counts = tocCounts(toc);
    expect(counts.tables).toBe(1);
    expect(counts.tableData).toBe(1);
    expect(counts.views).toBe(1);
    expect(toc.entries[0]?.tag).toBe("DATA");
  });
});
