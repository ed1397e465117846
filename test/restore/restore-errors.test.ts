import { describe, expect, it } from "vitest";
import { missingExtensions, parseRestoreErrors } from "../../src/restore/restore-errors.js";

// What pg_restore prints restoring a Supabase dump into vanilla Postgres (messages as Postgres 15–17 word them).
const SUPABASE_STDERR = `pg_restore: error: could not execute query: ERROR:  extension "pg_graphql" is not available
DETAIL:  Could not open extension control file "/usr/share/postgresql/15/extension/pg_graphql.control": No such file or directory.
HINT:  The extension must first be installed on the system where PostgreSQL is running.
Command was: CREATE EXTENSION IF NOT EXISTS pg_graphql WITH SCHEMA graphql;
pg_restore: error: could not execute query: ERROR:  extension "pg_graphql" does not exist
Command was: COMMENT ON EXTENSION pg_graphql IS 'pg_graphql: GraphQL support';
pg_restore: error: could not execute query: ERROR:  relation "public.missing" does not exist
Command was: ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_fk FOREIGN KEY (m) REFERENCES public.missing(id);
pg_restore: warning: errors ignored on restore: 3
`;

describe("parseRestoreErrors", () => {
  it("splits pg_restore's stderr into errors with the command each came from", () => {
    const errors = parseRestoreErrors(SUPABASE_STDERR);
    expect(errors).toHaveLength(3);
    expect(errors[0]?.command).toBe("CREATE EXTENSION IF NOT EXISTS pg_graphql WITH SCHEMA graphql;");
    expect(errors[2]?.message).toBe('ERROR:  relation "public.missing" does not exist');
  });

  it("calls a Supabase-only extension and its comment expected, and anything else a failure", () => {
    const errors = parseRestoreErrors(SUPABASE_STDERR);
    expect(errors[0]?.expected).toMatch(/pg_graphql is not shipped/);
    expect(errors[1]?.expected).toMatch(/comment on extension pg_graphql/);
    expect(errors[2]?.expected).toBeUndefined();
    expect([...missingExtensions(errors)]).toEqual(["pg_graphql"]);
  });

  it("finds nothing in a clean restore", () => {
    expect(parseRestoreErrors("")).toEqual([]);
  });
});
