import { readFileSync } from "node:fs";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { rolesInSchema } from "../../src/restore/archive-roles.js";
import { startScratchServer } from "../../src/restore/scratch-server.js";
import { loadFixture } from "../helpers/postgres.js";

describe("rolesInSchema", () => {
  it("finds owners, grantees, policy roles and default-privilege roles, quoted or not", () => {
    const sql = [
      "ALTER TABLE public.t OWNER TO supabase_admin;",
      'CREATE SCHEMA auth AUTHORIZATION "Auth Admin";',
      "CREATE POLICY p ON public.t FOR SELECT TO authenticated, anon USING (true);",
      "GRANT SELECT ON TABLE public.t TO service_role;",
      "REVOKE ALL ON TABLE public.t FROM PUBLIC;",
      "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO dashboard_user;",
    ].join("\n");
    expect(rolesInSchema(sql)).toEqual([
      "Auth Admin",
      "anon",
      "authenticated",
      "dashboard_user",
      "service_role",
      "supabase_admin",
    ]);
  });

  it("reads the fixture's roles from a real pg_dump -s", async () => {
    const server = await startScratchServer({ major: 15 });
    try {
      await loadFixture(server.url(), "supabase");
      const { stdout } = await execa("pg_dump", ["--schema-only", server.url()]);
      const expected = JSON.parse(readFileSync("test/fixtures/supabase.expected.json", "utf8")) as {
        roles: string[];
      };
      const found = rolesInSchema(stdout);
      for (const role of ["anon", "authenticated", "service_role"]) expect(found).toContain(role);
      for (const role of found) expect([...expected.roles, "postgres"]).toContain(role);
    } finally {
      await server.stop();
    }
  });
});
