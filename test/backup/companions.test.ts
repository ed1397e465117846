import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogSnapshot, ViewInfo } from "../../src/backup/catalog-snapshot.js";
import {
  EXTENSIONS_FILE,
  extensionsTsv,
  VERSION_FILE,
  VIEWS_FILE,
  versionText,
  viewsTsv,
  writeCompanions,
} from "../../src/backup/companions.js";

const VERSION =
  "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit";

const views: ViewInfo[] = [
  { schema: "public", name: "active_tenants", reloptions: [] },
  { schema: "public", name: "my_documents", reloptions: ["security_invoker=true"] },
  {
    schema: "public",
    name: "profile_directory",
    reloptions: ["check_option=local", "security_invoker=true"],
  },
  { schema: "public", name: "legacy_report", reloptions: ["security_invoker=false"] },
  { schema: "auth", name: "tab\there", reloptions: [] },
  { schema: "we ird", name: "two\nlines", reloptions: ["security_barrier=true"] },
];

function snapshot(): CatalogSnapshot {
  return {
    version: VERSION,
    serverVersionNum: 150018,
    serverMajor: 15,
    database: "postgres",
    databaseBytes: 10_000_000,
    extensions: [
      { name: "pg_trgm", version: "1.6", schema: "extensions" },
      { name: "plpgsql", version: "1.0", schema: "pg_catalog" },
      { name: "uuid-ossp", version: "1.1", schema: "extensions" },
    ],
    views,
    tables: [],
    objects: { functions: {}, materializedViews: [], triggers: {}, eventTriggers: [] },
    exposedViews: [],
    policiesByTable: {},
    counts: {
      tables: 0,
      views: views.length,
      materializedViews: 0,
      policies: 0,
      extensions: 2,
      functions: 0,
      sequences: 0,
    },
  };
}

/** Runs a line of bash in `dir`, as a person following the runbook would. */
function sh(dir: string, script: string): string {
  return execFileSync("bash", ["-c", script], { cwd: dir, encoding: "utf8" });
}

describe("companion files, checked with the runbook's own commands", () => {
  let dir: string;
  let written: string[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-companions-"));
    written = await writeCompanions(dir, snapshot(), "15.18");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes version.txt, extensions.tsv and views_reloptions.tsv", () => {
    expect(written.sort()).toEqual([EXTENSIONS_FILE, VERSION_FILE, VIEWS_FILE].sort());
    expect(readdirSync(dir).sort()).toEqual(["extensions.tsv", "version.txt", "views_reloptions.tsv"]);
  });

  it("`head -1 version.txt` prints select version()", () => {
    expect(sh(dir, "head -1 version.txt")).toBe(`${VERSION}\n`);
  });

  it("`column -t -s $'\\t' extensions.tsv` aligns a header and one row per extension into 3 columns", () => {
    const out = sh(dir, "column -t -s $'\\t' extensions.tsv").trimEnd().split("\n");
    expect(out).toHaveLength(4);
    expect(out.map((l) => l.split(/\s+/))).toEqual([
      ["name", "version", "schema"],
      ["pg_trgm", "1.6", "extensions"],
      ["plpgsql", "1.0", "pg_catalog"],
      ["uuid-ossp", "1.1", "extensions"],
    ]);
    // Aligned: the second column starts at the same offset on every line.
    const starts = out.map((l) => l.indexOf(l.split(/\s+/)[1] ?? "?"));
    expect(new Set(starts).size).toBe(1);
  });

  it("`grep security_invoker views_reloptions.tsv | wc -l` counts the views that carry the option", () => {
    // my_documents, profile_directory (true) and legacy_report (false): the runbook's grep counts presence.
    expect(sh(dir, "grep security_invoker views_reloptions.tsv | wc -l").trim()).toBe("3");
    expect(sh(dir, "grep -c 'security_invoker=true' views_reloptions.tsv").trim()).toBe("2");
  });

  it("keeps one view a line even when a name holds a tab or a newline", () => {
    const lines = readFileSync(path.join(dir, VIEWS_FILE), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(1 + views.length);
    for (const line of lines) expect(line.split("\t")).toHaveLength(3);
    expect(lines).toContain("auth\ttab\\there\t{}");
    expect(lines).toContain("we ird\ttwo\\nlines\t{security_barrier=true}");
    const columns = sh(dir, "column -t -s $'\\t' views_reloptions.tsv").trimEnd().split("\n");
    expect(columns).toHaveLength(1 + views.length);
  });
});

describe("companion formatting", () => {
  it("version.txt: version first, then server_version_num and pg_dump as tab-separated pairs", () => {
    expect(versionText("PostgreSQL 17.2 on aarch64", 170002, "17.2")).toBe(
      "PostgreSQL 17.2 on aarch64\nserver_version_num\t170002\npg_dump\t17.2\n",
    );
  });

  it("extensions.tsv: a header even with no extensions", () => {
    expect(extensionsTsv([])).toBe("name\tversion\tschema\n");
  });

  it("views_reloptions.tsv: reloptions in Postgres array form, {} when none", () => {
    expect(
      viewsTsv([
        { schema: "public", name: "v", reloptions: [] },
        { schema: "public", name: "w", reloptions: ["security_invoker=true", "check_option=cascaded"] },
      ]),
    ).toBe(
      "schema\tview\treloptions\npublic\tv\t{}\npublic\tw\t{security_invoker=true,check_option=cascaded}\n",
    );
  });

  it("escapes backslashes so an escaped name can be read back unambiguously", () => {
    expect(viewsTsv([{ schema: "s", name: "a\\tb", reloptions: [] }])).toContain("s\ta\\\\tb\t{}");
    expect(extensionsTsv([{ name: "x\ty", version: "1\n2", schema: "s\\" }])).toBe(
      "name\tversion\tschema\nx\\ty\t1\\n2\ts\\\\\n",
    );
  });
});
