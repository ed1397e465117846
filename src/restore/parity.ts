import type { AppObjects, SequencePosition } from "../backup/app-objects.js";
import type { CatalogSnapshot, TableInfo, ViewInfo } from "../backup/catalog-snapshot.js";
import type { Manifest } from "../backup/manifest.js";
import type { ComparedKind } from "../state/annotations.js";
import { functionRows, materializedViewRows, sequenceRows, triggerRows } from "./parity-objects.js";
import type { RestoreError } from "./restore-errors.js";

export type ParityRow = NonNullable<Manifest["restoreTest"]>["parity"][number];
export type { ComparedKind };

/** What a restore is checked for: the rows, and which kinds of object could be compared. */
export interface Parity {
  rows: ParityRow[];
  compared: ComparedKind[];
}

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
  /** Sequences the target kept as its own, with those rows. */
  keptSequences?: ReadonlySet<string>;
  /** Recorded just before the dump; absent in backups taken before restores compared them. */
  sequences?: SequencePosition[] | undefined;
  /** Functions, materialized views, triggers at dump time; absent likewise. */
  objects?: AppObjects | undefined;
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

const NOT_RECORDED = "the backup was taken by an older dbbackup, which did not record them";

/** The kinds recorded only since restores compared them: rows when both sides have them. */
function objectParity(input: ParityInput): Parity {
  const { restored, errors } = input;
  const rows: ParityRow[] = [];
  const compared: ComparedKind[] = [];
  const kind = (name: string, make: (() => ParityRow[]) | undefined) => {
    if (!make) return compared.push({ kind: name, compared: false, why: NOT_RECORDED });
    rows.push(...make());
    return compared.push({ kind: name, compared: true });
  };
  const { sequences, objects } = input;
  kind(
    "sequences",
    sequences &&
      (() => sequenceRows(sequences, restored.sequences ?? [], input.keptSequences ?? new Set(), errors)),
  );
  kind(
    "functions and procedures",
    objects && (() => functionRows(objects.functions, restored.objects.functions, errors)),
  );
  kind(
    "materialized views",
    objects &&
      (() => materializedViewRows(objects.materializedViews, restored.objects.materializedViews, errors)),
  );
  kind("triggers and event triggers", objects && (() => triggerRows(objects, restored.objects, errors)));
  return { rows, compared };
}

/** What the dump recorded against what the restore holds, row by row. Pure. */
export function compareRestore(input: ParityInput): Parity {
  const objects = objectParity(input);
  const rows: ParityRow[] = [
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
    ...objects.rows,
    ...errorRows(input.errors),
  ];
  const always = ["tables", "views", "extensions", "policies"].map((kind) => ({ kind, compared: true }));
  return { rows, compared: [...always, ...objects.compared] };
}

/** "compared: tables, views, …" and, apart, each kind left out and why: never a silent pass. Pure. */
export function comparedLines(compared: readonly ComparedKind[]): string[] {
  if (compared.length === 0) return [];
  const done = compared.filter((c) => c.compared).map((c) => c.kind);
  const lines = done.length > 0 ? [`compared: ${done.join(", ")}`] : [];
  for (const c of compared.filter((k) => !k.compared))
    lines.push(`not compared: ${c.kind}${c.why ? ` (${c.why})` : ""}`);
  return lines;
}
