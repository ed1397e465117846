/** What the advice reads of a parity row. */
interface Row {
  kind: string;
  name: string;
  expected?: string;
  actual?: string;
  result: string;
}

/** "CAST (integer AS text)", "VIEW public.v", "table data of public.items": what a restore command made. Pure. */
export function objectOf(command: string): string {
  const copy = /COPY failed for table "([^"]+)"/.exec(command) ?? /^COPY\s+([\w."$]+)/i.exec(command);
  if (copy?.[1]) return `the rows of ${copy[1]}`;
  const made =
    /^(?:CREATE|ALTER|COMMENT ON)\s+(?:OR REPLACE\s+)?(?:UNIQUE\s+)?((?:MATERIALIZED )?\w+)\s+(?:IF NOT EXISTS\s+)?(\([^)]*\)|[\w."$]+)/i.exec(
      command,
    );
  if (made?.[1] && made[2]) return `${made[1].toLowerCase()} ${made[2]}`;
  return command.split(/\s+/).slice(0, 4).join(" ");
}

/**
 * What to do after a failed restore test. A backup whose files changed, or whose data didn't
 * match, is worth taking again; but an object pg_restore couldn't create or load from the dump
 * fails the same way in every new backup (pg_dump writes it the same way), so the advice names it
 * and says to fix it in the source database. Pure.
 */
export function restoreAdvice(parity: readonly Row[]): string {
  const failed = parity.filter((p) => p.result === "failed");
  if (failed.some((p) => p.kind === "file"))
    return "Don't rely on this backup: its files changed since it was taken. Take a new one and restore-test it.";
  // A failed COPY has no command of its own: its message names the table.
  const objects = [
    ...new Set(
      failed
        .filter((p) => p.kind === "error")
        .map((p) => objectOf(p.name === "pg_restore" ? (p.actual ?? "") : p.name)),
    ),
  ];
  if (objects.length > 0) {
    const named = `${objects.slice(0, 3).join(", ")}${objects.length > 3 ? ` and ${objects.length - 3} more` : ""}`;
    return `pg_dump can't write ${objects.length === 1 ? "this" : "these"} so that ${objects.length === 1 ? "it restores" : "they restore"}, and a new backup would fail the same way: ${named}. Fix ${objects.length === 1 ? "it" : "them"} in the source database (e.g. schema-qualify the names a function uses: a restore runs with an empty search_path), then back up and restore-test again.`;
  }
  const behind = failed.filter((p) => p.kind === "sequence" && p.actual !== "missing");
  if (behind.length > 0) {
    const setvals = behind.slice(0, 3).map(setvalOf).join(" ");
    return `${behind.length === 1 ? "A sequence" : `${behind.length} sequences`} came back behind what the dump recorded, so the next insert can reuse an id. In a restored database, move ${behind.length === 1 ? "it" : "them"} forward before the app writes: ${setvals}${behind.length > 3 ? " …" : ""}`;
  }
  return "Don't rely on this backup: take a new one and restore-test it.";
}

/** The setval that puts a sequence back where the dump recorded it ("1234" or "1234 (not yet used)"). */
function setvalOf(row: Row): string {
  const [value = "", ...rest] = (row.expected ?? "").split(" ");
  const literal = row.name.replace(/'/g, "''");
  return `SELECT setval('${literal}', ${value}, ${rest.length === 0});`;
}
