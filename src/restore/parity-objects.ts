import type { AppObjects, MaterializedViewInfo, SequencePosition } from "../backup/app-objects.js";
import type { ParityRow } from "./parity.js";
import type { RestoreError } from "./restore-errors.js";

/**
 * Beyond tables: sequences, functions, materialized views and triggers as the dump recorded them,
 * against the restored copy. Pure.
 */

const qualified = (o: { schema: string; name: string }) => `${o.schema}.${o.name}`;

/** An object missing because of an error the restore expected (a Supabase-only extension): why. */
function expectedMiss(errors: readonly RestoreError[], word: string): string | undefined {
  const bare = word.replace(/"/g, "");
  return errors.find((e) => e.expected && (e.command ?? e.message).replace(/"/g, "").includes(bare))
    ?.expected;
}

function missing(
  kind: ParityRow["kind"],
  name: string,
  expected: string,
  errors: readonly RestoreError[],
  word: string,
): ParityRow {
  const why = expectedMiss(errors, word);
  return why
    ? { kind, name, expected, actual: "missing", result: "expected", note: why }
    : { kind, name, expected, actual: "missing", result: "failed" };
}

type Named = { schema: string; name: string };

/**
 * Each object the dump recorded against the restored one of the same name: missing (failed, or
 * expected when an expected restore error explains it), else as `judge` says of the two.
 */
function eachRecorded<T extends Named>(
  kind: ParityRow["kind"],
  recorded: readonly T[],
  restored: readonly T[],
  errors: readonly RestoreError[],
  shown: (o: T) => string,
  judge: (want: T, got: T, row: Omit<ParityRow, "result">) => ParityRow,
): ParityRow[] {
  const restoredBy = new Map(restored.map((o) => [qualified(o), o]));
  return recorded.map((want) => {
    const name = qualified(want);
    const got = restoredBy.get(name);
    const expected = shown(want);
    if (!got) return missing(kind, name, expected, errors, want.name);
    return judge(want, got, { kind, name, expected, actual: shown(got) });
  });
}

/** -1 behind, 0 level, 1 ahead: where `b` stands against `a` in the sequence's direction. */
function sequenceOrder(a: SequencePosition, b: SequencePosition): number {
  const descending = a.increment.startsWith("-");
  const [x, y] = [BigInt(a.lastValue), BigInt(b.lastValue)];
  // An uncalled sequence hands out last_value itself next; a called one the value after it.
  const order = x === y ? Number(b.isCalled) - Number(a.isCalled) : (y > x ? 1 : -1) * (descending ? -1 : 1);
  return Math.sign(order);
}

const position = (s: SequencePosition) => `${s.lastValue}${s.isCalled ? "" : " (not yet used)"}`;

/** A sequence behind what the dump recorded hands out ids its table already has. */
export function sequenceRows(
  recorded: readonly SequencePosition[],
  restored: readonly SequencePosition[],
  kept: ReadonlySet<string>,
  errors: readonly RestoreError[],
): ParityRow[] {
  return eachRecorded("sequence", recorded, restored, errors, position, (want, got, row) => {
    if (kept.has(row.name))
      return { ...row, result: "expected", note: "the project's own, kept with its rows" };
    const order = sequenceOrder(want, got);
    if (order === 0) return { ...row, result: "ok" };
    if (order > 0)
      return {
        ...row,
        result: "expected",
        note: "it moved on while pg_dump ran (sequences are outside the snapshot); ahead is safe",
      };
    return {
      ...row,
      result: "failed",
      note: "behind what the dump recorded: the next insert can get an id the table already has",
    };
  });
}

const KIND_WORDS = new Set(["function", "procedure", "aggregate"]);

/** "procedure archive(integer)" in schema public → kind procedure, name public.archive(integer). */
function splitSignature(schema: string, signature: string): { kind: ParityRow["kind"]; name: string } {
  const [word = "", ...rest] = signature.split(" ");
  const kind = KIND_WORDS.has(word) ? (word as "function" | "procedure" | "aggregate") : "function";
  return { kind, name: `${schema}.${KIND_WORDS.has(word) ? rest.join(" ") : signature}` };
}

/** Per schema: every signature back (one row when all are), else one failed row per missing one. */
export function functionRows(
  recorded: AppObjects["functions"],
  restored: AppObjects["functions"],
  errors: readonly RestoreError[],
): ParityRow[] {
  const rows: ParityRow[] = [];
  for (const [schema, signatures] of Object.entries(recorded)) {
    const have = new Set(restored[schema] ?? []);
    const gone = signatures.filter((sig) => !have.has(sig));
    const present = signatures.length - gone.length;
    rows.push({
      kind: "function",
      name: `schema ${schema}`,
      expected: `${signatures.length} functions and procedures`,
      actual: `${present} present`,
      result: gone.length === 0 ? "ok" : "failed",
    });
    for (const sig of gone) {
      const { kind, name } = splitSignature(schema, sig);
      rows.push(missing(kind, name, "present", errors, name.slice(0, name.indexOf("("))));
    }
  }
  return rows;
}

const content = (m: MaterializedViewInfo) =>
  m.populated ? `populated, ${m.exact ? "" : "≈"}${m.rows} rows` : "not populated";

/** Populated or not must match; rows may differ only because the restore rebuilt it from its tables. */
export function materializedViewRows(
  recorded: readonly MaterializedViewInfo[],
  restored: readonly MaterializedViewInfo[],
  errors: readonly RestoreError[],
): ParityRow[] {
  return eachRecorded("materialized view", recorded, restored, errors, content, (want, got, row) => {
    if (want.populated !== got.populated)
      return {
        ...row,
        result: "failed",
        note: got.populated
          ? "populated here though it wasn't at dump time"
          : "reading it fails until someone runs REFRESH MATERIALIZED VIEW",
      };
    if (!want.populated || (want.exact && want.rows === got.rows)) return { ...row, result: "ok" };
    if (!want.exact) return { ...row, result: "ok", note: "dump-time figure was an estimate" };
    return {
      ...row,
      result: "expected",
      note: "the restore rebuilt it from the restored tables; the source's copy was refreshed before they last changed",
    };
  });
}

/** Each table's triggers and the database's event triggers, by name. */
export function triggerRows(
  recorded: Pick<AppObjects, "triggers" | "eventTriggers">,
  restored: Pick<AppObjects, "triggers" | "eventTriggers">,
  errors: readonly RestoreError[],
): ParityRow[] {
  const rows: ParityRow[] = [];
  for (const [table, names] of Object.entries(recorded.triggers)) {
    const have = new Set(restored.triggers[table] ?? []);
    const gone = names.filter((n) => !have.has(n));
    const all = names.join(", ");
    if (gone.length === 0)
      rows.push({ kind: "trigger", name: table, expected: all, actual: all, result: "ok" });
    else rows.push(...gone.map((n) => missing("trigger", `${n} on ${table}`, "present", errors, n)));
  }
  const events = new Set(restored.eventTriggers);
  for (const name of recorded.eventTriggers)
    rows.push(
      events.has(name)
        ? { kind: "event trigger", name, expected: "present", actual: "present", result: "ok" }
        : missing("event trigger", name, "present", errors, name),
    );
  return rows;
}
