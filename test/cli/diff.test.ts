import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";

describe("dbbackup diff: post-upgrade sanity", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  let before = "";

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await loadFixture(server.url(), "supabase");
    work = workdir({ DATABASE_URL_STAGING: server.url() });
    expect((await runCli(["pre-upgrade"], { cwd: work.dir })).exitCode).toBe(0);
    before = readdirSync(path.join(work.dir, "backups")).find((n) => !n.startsWith(".")) ?? "";
    // What an upgrade (or a careless migration) might change.
    await sql(
      server.url(),
      `create extension hstore;
       alter view public.my_documents reset (security_invoker);
       drop policy "Members read their tenant" on public.tenants;`,
    );
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("against live: names the new extension, flags security_invoker lost, and counts policies per table", async () => {
    const r = await runCli(["diff", before, "live", "--json"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as {
      to: string;
      version: { changed: boolean };
      extensions: { added: string[] };
      views: { changed: { view: string; lostSecurityInvoker: boolean }[] };
      securityInvokerLost: number;
    };
    expect(d.to).toBe("live staging");
    expect(d.version.changed).toBe(false);
    expect(d.extensions.added).toEqual(["hstore"]);
    expect(d.views.changed).toEqual([
      expect.objectContaining({ view: "public.my_documents", lostSecurityInvoker: true }),
    ]);
    expect(d.securityInvokerLost).toBe(1);
    expect((d as unknown as { policies: unknown }).policies).toEqual([
      { table: "public.tenants", before: 1, after: 0 },
    ]);
    const human = await runCli(["diff", before], { cwd: work.dir });
    expect(human.stdout).toMatch(
      /public\.my_documents: \{security_invoker=true\} → \{\}\s+LOST security_invoker/,
    );
    expect(human.stdout).toMatch(/extensions\s+\+hstore/);
  });

  it("between a backup and itself: nothing changed", async () => {
    const r = await runCli(["diff", before, before], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/server\s+PostgreSQL 15\.\d+ \(unchanged\)/);
    expect(r.stdout).toMatch(/extensions\s+none/);
    expect(r.stdout).toMatch(/views\s+unchanged/);
    expect(r.stdout).toMatch(/policies\s+unchanged/);
  });
});
