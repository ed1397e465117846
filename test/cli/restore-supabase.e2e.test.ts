import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";

/**
 * The platform's bookkeeping a real project has besides its tables: migration versions it wrote
 * itself, and a trigger of its own on storage.objects that writes a row per object (as Supabase's
 * storage keeps prefixes). Fired again while a restore loads objects, it would double those rows.
 */
const PLATFORM_BOOKKEEPING = `
  create table if not exists auth.schema_migrations (version text primary key);
  insert into auth.schema_migrations values ('20221208132122'), ('20230131181311') on conflict do nothing;
  create table if not exists storage.prefixes (bucket_id text not null, name text not null);
  create or replace function storage.add_prefix() returns trigger language plpgsql as $$
  begin
    insert into storage.prefixes values (new.bucket_id, split_part(new.name, '/', 1));
    return new;
  end $$;
  create or replace trigger objects_add_prefix after insert on storage.objects
    for each row execute function storage.add_prefix();`;

const COUNTS = `
  select (select count(*) from auth.users)::int as users, (select count(*) from public.profiles)::int as profiles,
         (select count(*) from storage.objects)::int as objects, (select count(*) from storage.prefixes)::int as prefixes,
         (select count(*) from auth.schema_migrations)::int as migrations,
         (select count(*) from public.documents)::int as documents`;

describe("restore into a fresh Supabase project: the project's own objects stay, the user's arrive", () => {
  let pg: ScratchServer;
  let work: ReturnType<typeof workdir>;
  let id: string;

  beforeAll(async () => {
    pg = await startScratchServer({ major: 15 });
    await sql(pg.url(), "create database source");
    await sql(pg.url(), "create database project");
    for (const db of ["source", "project"]) {
      await loadFixture(pg.url(db), "supabase-platform");
      await sql(pg.url(db), PLATFORM_BOOKKEEPING);
    }
    await loadFixture(pg.url("source"), "supabase-sample");
    work = workdir({ DATABASE_URL_STAGING: pg.url("source") });
    const backup = await runCli(["staging", "pre-move"], { cwd: work.dir });
    expect(backup.exitCode, backup.stderr).toBe(0);
    id = readdirSync(path.join(work.dir, "backups")).find((n) => n.endsWith("_pre-move")) ?? "";
  });
  afterAll(async () => {
    await pg?.stop();
    work?.remove();
  });

  it("a dry run names what stays the project's and where rows go, and changes nothing", async () => {
    const r = await runCli(["restore", id, "--to-url", pg.url("project"), "--dry-run"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/platform left as the project's own \(it has them\): \d+ objects, SCHEMA auth/);
    expect(r.stdout).toContain("the project's own rows kept (not the backup's): auth.schema_migrations");
    expect(r.stdout).toMatch(/triggers and foreign keys paused while they load: .*auth\.users/);
    const [users] = await sql<{ n: number }>(pg.url("project"), "select count(*)::int as n from auth.users");
    expect(users?.n).toBe(0);
  });

  it("restores with parity: rows once, the user's trigger and policies on the project's tables", async () => {
    const r = await runCli(["restore", id, "--to-url", pg.url("project")], { cwd: work.dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`✔ ${id} restored into`));
    expect(r.stdout).toMatch(
      /~ expected table auth\.schema_migrations: expected 2, got 2 \(the project's own rows/,
    );
    expect(r.stdout).not.toContain("✖");
    const [source] = await sql(pg.url("source"), COUNTS);
    const [restored] = await sql(pg.url("project"), COUNTS);
    // The platform's trigger didn't fire again on the objects, nor the user's on the users.
    expect(restored).toEqual(source);
    expect(restored?.users).toBeGreaterThan(0);
    const attached = await sql<{ what: string }>(
      pg.url("project"),
      `select 'trigger ' || tgname as what from pg_trigger where tgrelid = 'auth.users'::regclass and not tgisinternal
       union all select 'policy ' || policyname from pg_policies where schemaname = 'storage' order by 1`,
    );
    expect(attached.map((a) => a.what)).toEqual([
      "policy Owners upload objects",
      "policy Public bucket objects are readable",
      "policy Public buckets are listed",
      "trigger on_auth_user_created",
    ]);
    // Triggers are live again after the restore: a new user gets a profile.
    await sql(
      pg.url("project"),
      `insert into auth.users (email, raw_user_meta_data) values ('late@example.com', '{"tenant": "1"}')`,
    );
    const [late] = await sql<{ n: number }>(
      pg.url("project"),
      "select count(*)::int as n from public.profiles where username = 'late'",
    );
    expect(late?.n).toBe(1);
  });
});
