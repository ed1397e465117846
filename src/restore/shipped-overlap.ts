import type { TocEntry } from "../backup/toc.js";

/**
 * A fresh Supabase project already has `auth`, `storage` and the rest, built by the platform. The
 * archive holds them too (pg_dump takes the whole database), so a plain pg_restore into a new project
 * fails on every CREATE of theirs and duplicates their migration rows. Here the archive's entries in
 * the shipped schemas are held against what the target already has: the project's objects stay the
 * project's; their rows go into its tables when those are empty; user objects on them (a trigger on
 * auth.users, a policy on storage.objects) are restored. Pure: the catalog and the TOC come in.
 */

/** What the target already has in the shipped schemas, by kind and pg_dump's tag. */
export interface ShippedObjects {
  /** `KIND schema tag`, KIND one of SCHEMA RELATION FUNCTION TYPE CONSTRAINT TRIGGER POLICY. */
  keys: ReadonlySet<string>;
  /** Tables (`schema.name`) that already hold rows. */
  tablesWithRows: ReadonlySet<string>;
  /** Sequences (`schema.name`) owned by a column of a table (`schema.name`). */
  sequenceTables: ReadonlyMap<string, string>;
}

export interface ShippedOverlap {
  /** The archive's entries left out: the target has them already ("TABLE auth.users"). */
  kept: string[];
  /** Tables whose rows the target keeps (its own, e.g. migration versions): the archive's are left out. */
  keptRows: string[];
  /** Sequences numbering those rows: their values stay the target's too. */
  keptSequences: string[];
  /** Tables of the project's that the archive's rows go into: its triggers and keys are paused for them. */
  rowsIntoExisting: string[];
  /** Dump ids to leave out of the restore (a pg_restore --use-list with them commented out). */
  skip: ReadonlySet<number>;
}

const RELATIONS = new Set(["TABLE", "VIEW", "MATERIALIZED VIEW", "SEQUENCE", "FOREIGN TABLE", "INDEX"]);
const FUNCTIONS = new Set(["FUNCTION", "PROCEDURE", "AGGREGATE"]);
const TYPES = new Set(["TYPE", "DOMAIN"]);
/** Entries that alter an object: they go with it. The tag starts with its name. */
const ON_RELATION = new Set(["ROW SECURITY", "DEFAULT", "SEQUENCE OWNED BY", "INDEX ATTACH"]);

const firstWord = (tag: string) => tag.split(" ")[0] ?? "";

/** The key of the target object an entry creates or alters, or undefined when it can't be told. */
function keyOf(entry: TocEntry): string | undefined {
  const { desc, namespace, tag } = entry;
  if (desc === "SCHEMA") return `SCHEMA ${tag} ${tag}`;
  if (!namespace) return undefined;
  if (RELATIONS.has(desc)) return `RELATION ${namespace} ${tag}`;
  if (FUNCTIONS.has(desc)) return `FUNCTION ${namespace} ${tag}`;
  if (TYPES.has(desc)) return `TYPE ${namespace} ${tag}`;
  if (desc === "CONSTRAINT" || desc === "FK CONSTRAINT") return `CONSTRAINT ${namespace} ${tag}`;
  if (desc === "TRIGGER" || desc === "POLICY") return `${desc} ${namespace} ${tag}`;
  if (ON_RELATION.has(desc)) return `RELATION ${namespace} ${firstWord(tag)}`;
  if (desc === "COMMENT") {
    // "FUNCTION uid()", "TABLE users", "COLUMN users.email": the comment goes with its object.
    const [kind = "", ...rest] = tag.split(" ");
    const name = rest.join(" ");
    if (kind === "COLUMN") return `RELATION ${namespace} ${name.split(".")[0] ?? ""}`;
    return keyOf({ ...entry, desc: kind, tag: name });
  }
  return undefined;
}

const shown = (entry: TocEntry) =>
  entry.desc === "SCHEMA" ? `SCHEMA ${entry.tag}` : `${entry.desc} ${entry.namespace}.${entry.tag}`;

/** Which of the archive's entries in the shipped schemas to leave to the target, and why. */
export function overlapWith(
  entries: readonly TocEntry[],
  shippedSchemas: readonly string[],
  target: ShippedObjects,
): ShippedOverlap {
  const shipped = new Set(shippedSchemas);
  const kept: string[] = [];
  const keptRows: string[] = [];
  const keptSequences: string[] = [];
  const rowsIntoExisting: string[] = [];
  const skip = new Set<number>();
  const inShipped = (e: TocEntry) => shipped.has(e.desc === "SCHEMA" ? e.tag : (e.namespace ?? ""));
  for (const entry of entries) {
    if (!inShipped(entry)) continue;
    const table = `${entry.namespace}.${entry.tag}`;
    if (entry.desc === "TABLE DATA") {
      if (!target.keys.has(`RELATION ${entry.namespace} ${entry.tag}`)) continue;
      if (target.tablesWithRows.has(table)) {
        keptRows.push(table);
        skip.add(entry.dumpId);
      } else rowsIntoExisting.push(table);
      continue;
    }
    if (entry.desc === "SEQUENCE SET") {
      // The project's rows kept: so is the sequence that numbers them.
      const owner = target.sequenceTables.get(table);
      if (owner && target.tablesWithRows.has(owner)) {
        skip.add(entry.dumpId);
        keptSequences.push(table);
      }
      continue;
    }
    const key = keyOf(entry);
    if (!key || !target.keys.has(key)) continue;
    skip.add(entry.dumpId);
    if (entry.desc !== "COMMENT" && entry.desc !== "ACL") kept.push(shown(entry));
  }
  return { kept, keptRows, keptSequences, rowsIntoExisting, skip };
}

const some = (items: readonly string[], max = 6) =>
  `${items.slice(0, max).join(", ")}${items.length > max ? ` and ${items.length - max} more` : ""}`;

/** What was left to the project and what went into its tables, as a person reads it. Pure. */
export function overlapLines(
  platform: Pick<ShippedOverlap, "kept" | "keptRows" | "rowsIntoExisting">,
): string[] {
  const lines: string[] = [];
  if (platform.kept.length > 0)
    lines.push(
      `left as the project's own (it has them): ${platform.kept.length} objects, ${some(platform.kept)}`,
    );
  if (platform.keptRows.length > 0)
    lines.push(`the project's own rows kept (not the backup's): ${some(platform.keptRows)}`);
  if (platform.rowsIntoExisting.length > 0)
    lines.push(
      `rows into the project's tables, triggers and foreign keys paused while they load: ${some(platform.rowsIntoExisting)}`,
    );
  return lines;
}
