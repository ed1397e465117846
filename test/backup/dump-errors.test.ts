import { describe, expect, it } from "vitest";
import { DumpLimitError, explainChildFailure } from "../../src/backup/dump-errors.js";
import { parseTarget } from "../../src/backup/target.js";

/** pg_dump's own words turned into what happened and what to do; the GRANTs must be valid SQL. */

const target = parseTarget(
  "postgresql://ho_reader:pw@db.example.com:5432/postgres?sslmode=require",
  "staging",
  "DATABASE_URL_STAGING",
);

const failure = (stderr: string, ms?: number) => ({
  tool: "pg_dump",
  exitCode: 1,
  signal: undefined,
  stderr,
  cancelled: false,
  ...(ms !== undefined ? { ms } : {}),
});

describe("explainChildFailure", () => {
  it("a schema pg_dump may not use: USAGE and SELECT on everything in it, not 'GRANT SELECT ON auth'", () => {
    const e = explainChildFailure(
      failure(
        "pg_dump: error: query failed: ERROR:  permission denied for schema auth\npg_dump: detail: Query was: LOCK TABLE auth.users IN ACCESS SHARE MODE",
      ),
      target,
      "/b/.inprogress-x",
    );
    expect(e.code).toBe("permission_denied");
    expect(e.hint).toContain(
      "GRANT USAGE ON SCHEMA auth TO ho_reader; GRANT SELECT ON ALL TABLES IN SCHEMA auth TO ho_reader; GRANT SELECT ON ALL SEQUENCES IN SCHEMA auth TO ho_reader;",
    );
    expect(e.hint).not.toContain("GRANT SELECT ON auth TO");
  });

  it("a table: schema-qualified from the query pg_dump ran", () => {
    const e = explainChildFailure(
      failure(
        "pg_dump: error: query failed: ERROR:  permission denied for table payroll\npg_dump: detail: Query was: LOCK TABLE public.payroll IN ACCESS SHARE MODE",
      ),
      target,
      "/b/.inprogress-x",
    );
    expect(e.hint).toContain("GRANT SELECT ON public.payroll TO ho_reader;");
  });

  it("the server failing to print an object's definition is a limit, not a glitch: no 'run again'", () => {
    const e = explainChildFailure(
      failure(
        "pg_dump: last built-in OID is 16383\npg_dump: error: query failed: ERROR:  unrecognized RTE kind: 7\npg_dump: detail: Query was: SELECT pg_catalog.pg_get_viewdef('16401'::pg_catalog.oid) AS viewdef",
      ),
      target,
      "/b/.inprogress-x",
    );
    expect(e).toBeInstanceOf(DumpLimitError);
    expect(e.code).toBe("dump_limit");
    expect(e.message).toBe(
      "The server could not describe the object with OID 16401 (in pg_class) for pg_dump (ERROR: unrecognized RTE kind: 7), so this database can't be dumped as it is; a new backup would fail the same way.",
    );
    expect(e.hint).not.toMatch(/run (it )?again/i);
    // Named, once the run's own connection has looked the OID up.
    const named = (e as DumpLimitError).naming("view public.order_totals");
    expect(named.message).toContain("The server could not describe view public.order_totals for pg_dump");
    expect(named.hint).toContain("Fix or recreate view public.order_totals in the database");
  });

  it("a connection lost after pg_dump connected is 'went away during the dump', over SSL too", () => {
    const e = explainChildFailure(
      failure(
        "pg_dump: last built-in OID is 16383\npg_dump: reading extensions\npg_dump: error: query failed: SSL SYSCALL error: EOF detected",
        12_400,
      ),
      target,
      "/b/.inprogress-x",
    );
    expect(e.code).toBe("connection_lost");
    expect(e.message).toBe(
      "The database server went away during the dump after 12 s (pg_dump: error: query failed: SSL SYSCALL error: EOF detected); nothing was kept.",
    );
    // Before connecting, an SSL problem is still a connection problem.
    const early = explainChildFailure(
      failure('pg_dump: error: connection to server at "db.example.com" failed: SSL connection is required'),
      target,
      "/b/.inprogress-x",
    );
    expect(early.code).toBe("ssl_required");
  });
});
