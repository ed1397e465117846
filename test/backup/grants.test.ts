import { describe, expect, it } from "vitest";
import {
  describeProblems,
  grantStatements,
  quoteIdent,
  type ReadableRelation,
  schemaProblems,
} from "../../src/backup/grants.js";

const rel = (
  schema: string,
  name: string,
  kind: "table" | "sequence",
  usage: boolean,
  select: boolean,
): ReadableRelation => ({
  schema,
  name,
  kind,
  schemaUsage: usage,
  select,
});

describe("GRANT hints that work as printed", () => {
  it("quotes only what needs quoting", () => {
    expect(quoteIdent("auth")).toBe("auth");
    expect(quoteIdent("ho_reader")).toBe("ho_reader");
    expect(quoteIdent("user")).toBe('"user"');
    expect(quoteIdent("join")).toBe('"join"');
    expect(quoteIdent("Mixed Case")).toBe('"Mixed Case"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent("postgres.abcd")).toBe('"postgres.abcd"');
  });

  it("a schema the role can't use: USAGE, then every table and sequence in it", () => {
    const problems = schemaProblems([
      rel("auth", "users", "table", false, false),
      rel("auth", "identities", "table", false, false),
      rel("auth", "refresh_tokens_id_seq", "sequence", false, false),
      rel("public", "notes", "table", true, true),
    ]);
    expect(grantStatements("ho_reader", problems)).toEqual([
      "GRANT USAGE ON SCHEMA auth TO ho_reader;",
      "GRANT SELECT ON ALL TABLES IN SCHEMA auth TO ho_reader;",
      "GRANT SELECT ON ALL SEQUENCES IN SCHEMA auth TO ho_reader;",
    ]);
    expect(describeProblems(problems)).toBe("schema auth (2 tables, 1 sequence)");
  });

  it("single tables and sequences are named one by one, schema-qualified", () => {
    const problems = schemaProblems([
      rel("public", "notes", "table", true, true),
      rel("public", "payroll", "table", true, false),
      rel("public", "Order", "table", true, false),
      rel("public", "notes_id_seq", "sequence", true, true),
      rel("public", "payroll_id_seq", "sequence", true, false),
    ]);
    expect(grantStatements("reader", problems)).toEqual([
      "GRANT SELECT ON public.payroll TO reader;",
      'GRANT SELECT ON public."Order" TO reader;',
      "GRANT SELECT ON SEQUENCE public.payroll_id_seq TO reader;",
    ]);
    expect(describeProblems(problems)).toBe(
      "table public.payroll, table public.Order, sequence public.payroll_id_seq",
    );
  });

  it("nothing to grant when everything can be read", () => {
    expect(schemaProblems([rel("public", "notes", "table", true, true)])).toEqual([]);
  });
});
