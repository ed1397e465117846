/**
 * What a role may not read, and the GRANT statements that fix it: statements that work as printed
 * (quoted where needed, schema-qualified), for the owner to run. Pure.
 */

export interface ReadableRelation {
  schema: string;
  name: string;
  kind: "table" | "sequence";
  /** The role may use the relation's schema (has_schema_privilege USAGE). */
  schemaUsage: boolean;
  /** The role may SELECT from it (has_table_privilege / has_sequence_privilege). */
  select: boolean;
}

// Keywords a bare identifier can't be: such names are quoted, so printed GRANTs run as they are.
const RESERVED = new Set([
  "all",
  "analyse",
  "analyze",
  "and",
  "any",
  "array",
  "as",
  "asc",
  "asymmetric",
  "both",
  "case",
  "cast",
  "check",
  "collate",
  "column",
  "constraint",
  "create",
  "current_catalog",
  "current_date",
  "current_role",
  "current_time",
  "current_timestamp",
  "current_user",
  "default",
  "deferrable",
  "desc",
  "distinct",
  "do",
  "else",
  "end",
  "except",
  "false",
  "fetch",
  "for",
  "foreign",
  "from",
  "grant",
  "group",
  "having",
  "in",
  "initially",
  "intersect",
  "into",
  "lateral",
  "leading",
  "limit",
  "localtime",
  "localtimestamp",
  "not",
  "null",
  "offset",
  "on",
  "only",
  "or",
  "order",
  "placing",
  "primary",
  "references",
  "returning",
  "select",
  "session_user",
  "some",
  "symmetric",
  "system_user",
  "table",
  "then",
  "to",
  "trailing",
  "true",
  "union",
  "unique",
  "user",
  "using",
  "variadic",
  "when",
  "where",
  "window",
  "with",
  // Not reserved, but not plain names either where a schema or role name goes:
  "authorization",
  "binary",
  "collation",
  "concurrently",
  "cross",
  "current_schema",
  "freeze",
  "full",
  "ilike",
  "inner",
  "is",
  "isnull",
  "join",
  "left",
  "like",
  "natural",
  "notnull",
  "outer",
  "overlaps",
  "right",
  "similar",
  "tablesample",
  "verbose",
]);

/** An identifier as Postgres reads it back unchanged: bare when it can be, else double-quoted. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export interface SchemaProblem {
  schema: string;
  usage: boolean;
  tables: { unreadable: string[]; total: number };
  sequences: { unreadable: string[]; total: number };
}

/** The schemas where something can't be read, each with what. */
export function schemaProblems(relations: readonly ReadableRelation[]): SchemaProblem[] {
  const bySchema = new Map<string, SchemaProblem>();
  for (const r of relations) {
    const p = bySchema.get(r.schema) ?? {
      schema: r.schema,
      usage: r.schemaUsage,
      tables: { unreadable: [], total: 0 },
      sequences: { unreadable: [], total: 0 },
    };
    const group = r.kind === "table" ? p.tables : p.sequences;
    group.total++;
    if (!r.select) group.unreadable.push(r.name);
    bySchema.set(r.schema, p);
  }
  return [...bySchema.values()]
    .filter((p) => !p.usage || p.tables.unreadable.length > 0 || p.sequences.unreadable.length > 0)
    .sort((a, b) => a.schema.localeCompare(b.schema));
}

/** The GRANTs that let `role` read everything in `problems`, one statement each. */
export function grantStatements(role: string, problems: readonly SchemaProblem[]): string[] {
  const to = quoteIdent(role);
  const out: string[] = [];
  for (const p of problems) {
    const s = quoteIdent(p.schema);
    if (!p.usage) out.push(`GRANT USAGE ON SCHEMA ${s} TO ${to};`);
    const { tables, sequences } = p;
    if (tables.unreadable.length > 0 && tables.unreadable.length === tables.total)
      out.push(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${to};`);
    else for (const t of tables.unreadable) out.push(`GRANT SELECT ON ${s}.${quoteIdent(t)} TO ${to};`);
    if (sequences.unreadable.length > 0 && sequences.unreadable.length === sequences.total)
      out.push(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${to};`);
    else
      for (const q of sequences.unreadable)
        out.push(`GRANT SELECT ON SEQUENCE ${s}.${quoteIdent(q)} TO ${to};`);
  }
  return out;
}

/** "schema auth (2 tables, 1 sequence), table public.payroll" — what can't be read, in words. */
export function describeProblems(problems: readonly SchemaProblem[]): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const parts: string[] = [];
  for (const p of problems) {
    if (!p.usage) {
      const what = [
        p.tables.total > 0 ? plural(p.tables.total, "table") : "",
        p.sequences.total > 0 ? plural(p.sequences.total, "sequence") : "",
      ].filter(Boolean);
      parts.push(`schema ${p.schema}${what.length > 0 ? ` (${what.join(", ")})` : ""}`);
      continue;
    }
    for (const t of p.tables.unreadable) parts.push(`table ${p.schema}.${t}`);
    for (const q of p.sequences.unreadable) parts.push(`sequence ${p.schema}.${q}`);
  }
  return parts.length > 6 ? `${parts.slice(0, 6).join(", ")} and ${parts.length - 6} more` : parts.join(", ");
}
