import type { CatalogSnapshot, TableInfo, ViewInfo } from "../backup/catalog-snapshot.js";
import type { Manifest } from "../backup/manifest.js";
import type { RestoreError } from "./restore-errors.js";

export type ParityRow = NonNullable<Manifest["restoreTest"]>["parity"][number];

/** Reads a runbook TSV back (header skipped, COPY-style escapes undone). */
export function parseTsv(text: string): string[][] {
  const unescapeField = (f: string) =>
    f.replace(/\\([\\tnr])/g, (_, c: string) => ({ "\\": "\\", t: "\t", n: "\n", r: "\r" })[c] ?? c);
  return text
    .split("\n")
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t").map(unescapeField));
}

/** `{security_invoker=true,"a b=c"}` → ["security_invoker=true", "a b=c"] */
export function parsePgArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, "");
  if (!inner) return [];
  const out: string[] = [];
  for (const m of inner.matchAll(/"((?:[^"\\]|\\.)*)"|([^,]+)/g)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? ""));
  }
  return out;
}

const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export interface ParityInput {
  tables: TableInfo[];
  views: ViewInfo[];
  extensions: string[];
  policies: number;
  errors: RestoreError[];
  restored: CatalogSnapshot;
  /** Extensions the scratch server lacks, as pg_restore reported them. */
  missingExtensions: Set<string>;
  /** Tables whose rows the target kept as its own (a Supabase project's migration versions). */
  keptRows?: ReadonlySet<string>;
}

/** Each non-partitioned table's rows at dump time against the restore's exact count. */
function tableRows(tables: TableInfo[], restored: CatalogSnapshot, kept: ReadonlySet<string>): ParityRow[] {
  const rows: ParityRow[] = [];
  const restoredTables = new Map(restored.tables.map((t) => [key(t), t]));
  for (const t of tables) {
    if (t.partitioned) continue;
    const got = restoredTables.get(key(t));
    const expected = t.exact ? String(t.rows) : `≈${t.rows} (planner estimate at dump time)`;
    if (got && kept.has(key(t))) {
      const note = "the project's own rows, kept (its platform wrote them)";
      rows.push({
        kind: "table",
        name: key(t),
        expected,
        actual: String(got.rows),
        result: "expected",
        note,
      });
    } else if (!got) {
      rows.push({ kind: "table", name: key(t), expected, actual: "missing", result: "failed" });
    } else if (t.exact) {
      rows.push({
        kind: "table",
        name: key(t),
        expected,
        actual: String(got.rows),
        result: got.rows === t.rows ? "ok" : "failed",
      });
    } else {
      // An estimate can't be matched exactly; an empty table where rows were expected can.
      const empty = got.rows === 0 && t.rows > 0;
      rows.push({
        kind: "table",
        name: key(t),
        expected,
        actual: String(got.rows),
        result: empty ? "failed" : "ok",
        note: "dump-time figure was an estimate",
      });
    }
  }
  return rows;
}

/** Each view must be back, with the same reloptions. */
function viewRows(views: ViewInfo[], restored: CatalogSnapshot): ParityRow[] {
  const restoredViews = new Map(restored.views.map((v) => [key(v), v]));
  return views.map((v) => {
    const got = restoredViews.get(key(v));
    const expected = `{${v.reloptions.join(",")}}`;
    if (!got) return { kind: "view", name: key(v), expected, actual: "missing", result: "failed" };
    const actual = `{${got.reloptions.join(",")}}`;
    return { kind: "view", name: key(v), expected, actual, result: actual === expected ? "ok" : "failed" };
  });
}

/** Each extension must be back, unless the scratch server simply doesn't have it. */
function extensionRows(input: ParityInput): ParityRow[] {
  const restoredExtensions = new Set(input.restored.extensions.map((e) => e.name));
  return input.extensions.map((name) => {
    if (restoredExtensions.has(name))
      return { kind: "extension", name, expected: "present", actual: "present", result: "ok" };
    if (input.missingExtensions.has(name))
      return {
        kind: "extension",
        name,
        expected: "present",
        actual: "not available on the scratch server",
        result: "expected",
        note: "Supabase-only extension; vanilla Postgres doesn't ship it",
      };
    return { kind: "extension", name, expected: "present", actual: "missing", result: "failed" };
  });
}

/** pg_restore's errors: failures unless known to be expected. */
function errorRows(errors: RestoreError[]): ParityRow[] {
  return errors.map((e) => ({
    kind: "error",
    name: e.command?.slice(0, 200) ?? "pg_restore",
    expected: "no error",
    actual: e.message.slice(0, 300),
    result: e.expected ? "expected" : "failed",
    ...(e.expected ? { note: e.expected } : {}),
  }));
}

/** What the dump recorded against what the restore holds, row by row. Pure. */
export function compareRestore(input: ParityInput): ParityRow[] {
  return [
    ...tableRows(input.tables, input.restored, input.keptRows ?? new Set()),
    ...viewRows(input.views, input.restored),
    ...extensionRows(input),
    {
      kind: "policies",
      name: "row-level security policies",
      expected: String(input.policies),
      actual: String(input.restored.counts.policies),
      result: input.restored.counts.policies === input.policies ? "ok" : "failed",
    },
    ...errorRows(input.errors),
  ];
}
