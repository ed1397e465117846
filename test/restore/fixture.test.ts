import { describe, expect, it } from "vitest";
import {
  catalogSummary,
  createDatabase,
  expectedFixture,
  loadFixture,
  psqlAs,
  sql,
  sqlAs,
  useTestServer,
} from "../helpers/postgres.js";

describe.each([14, 15, 16, 17])("supabase fixture on Postgres %i", (major) => {
  const db = useTestServer(major);

  it("loads twice (idempotent) and matches supabase.expected.json", async () => {
    const url = await createDatabase(db.server, "twice");
    await loadFixture(url, "supabase");
    const first = await catalogSummary(url);
    await loadFixture(url, "supabase");
    const second = await catalogSummary(url);
    expect(second).toEqual(first);
    const { serverMajor, ...summary } = first;
    expect(serverMajor).toBe(major);
    expect(summary).toEqual(expectedFixture("supabase", major));
  });

  it("loads into a second database of the same server (roles already there)", async () => {
    const url = await createDatabase(db.server, "second");
    await loadFixture(url, "supabase");
    const { serverMajor: _, ...summary } = await catalogSummary(url);
    expect(summary).toEqual(expectedFixture("supabase", major));
  });

  it("applies RLS for anon and authenticated through auth.uid()", async () => {
    const url = db.server.url("second");
    const [owner] = await sql<{ id: string; own: number }>(
      url,
      `select owner_id as id, count(*)::int as own from public.documents
        where owner_id is not null group by 1 order by 2 desc, 1 limit 1`,
    );
    expect(owner?.own).toBeGreaterThan(0);
    const [publicDocs] = await sql<{ n: number }>(
      url,
      "select count(*)::int as n from public.documents where is_public",
    );
    const [anon] = await sqlAs<{ n: number }>(
      url,
      { role: "anon" },
      "select count(*)::int as n from public.documents",
    );
    expect(anon?.n).toBe(publicDocs?.n);
    const [mine] = await sqlAs<{ n: number; uid: string }>(
      url,
      { role: "authenticated", sub: owner!.id },
      "select count(*)::int as n, auth.uid()::text as uid from public.my_documents group by 2",
    );
    expect(mine).toEqual({ n: owner?.own, uid: owner?.id });
    expect(await psqlAs(url, { role: "authenticated", sub: owner!.id }, "select auth.uid()")).toBe(owner?.id);
    await expect(
      sqlAs(url, { role: "anon" }, "insert into public.tenants (slug, name) values ('x', 'x')"),
    ).rejects.toThrow(/permission denied/);
  });

  it("runs security_invoker views with the caller's RLS (from Postgres 15; 14 has no such option)", async () => {
    const url = db.server.url("second");
    // profile_directory joins tenants, which anon may select but no policy lets it see.
    const [row] = await sqlAs<{ names: number; rows: number }>(
      url,
      { role: "anon" },
      "select count(tenant_name)::int as names, count(*)::int as rows from public.profile_directory",
    );
    expect(row?.rows).toBe(200);
    if (major >= 15) expect(row?.names).toBe(0);
    else expect(row?.names).toBeGreaterThan(0);
    // document_stats is security_invoker=false: the owner's view of every document.
    const [stats] = await sqlAs<{ n: number }>(
      url,
      { role: "anon" },
      "select sum(documents)::int as n from public.document_stats",
    );
    expect(stats?.n).toBe(600);
  });
});
