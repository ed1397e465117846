import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestSchema } from "../../src/backup/manifest.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { sql } from "../helpers/postgres.js";

/** One definition per number: the progress, the summary and the manifest count the same things. */
describe("counts that agree", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await sql(
      server.url(),
      `create type public.span as range (subtype = int4);              -- the system adds its constructors
       create function public.plus_one(x int) returns int language sql as 'select x + 1';
       create procedure public.noop() language sql as 'select 1';
       create aggregate public.total(int) (sfunc = int4pl, stype = int, initcond = '0');
       create table public.events (id int, at date not null) partition by range (at);
       create table public.events_2026 partition of public.events for values from ('2026-01-01') to ('2027-01-01');
       insert into public.events values (1, '2026-05-01');
       create table public.notes (id int primary key); insert into notes values (1), (2);`,
    );
    work = workdir({ DATABASE_URL_STAGING: server.url() });
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("functions, tables and tables with data: the same numbers in the manifest, the summary and the progress", async () => {
    const r = await runCli(["counted"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const id = /→ (\d{8}_\d{6}_staging_counted)/.exec(r.stderr)?.[1] ?? "";
    const manifest = manifestSchema.parse(
      JSON.parse(readFileSync(path.join(work.dir, "backups", id, "manifest.json"), "utf8")),
    );
    // Functions, procedures and aggregates the dump holds; a range type's constructors aren't among them.
    expect(manifest.catalog.counts.functions).toBe(3);
    expect(manifest.toc.counts.functions).toBe(3);
    // Tables: events (partitioned), events_2026, notes; with data: the partition and notes.
    expect(manifest.catalog.counts.tables).toBe(3);
    expect(manifest.toc.counts.tables).toBe(3);
    expect(manifest.toc.counts.tableData).toBe(2);
    expect(r.stdout).toMatch(
      /TOC +\d+ entries: 3 tables \(2 with data\), 0 views, 0 policies, 0 extensions, 3 functions/,
    );
    // The progress ends with the dump's final figures, counted the same way.
    expect(r.stderr).toMatch(/dump done in .*: 2\/2 tables' data, \d+(\.\d)? (B|KB) written/);
    // And each stage is reached no earlier than the one before.
    const [dumped, readable] = manifest.verification.stages;
    expect((readable?.at ?? "") >= (dumped?.at ?? "")).toBe(true);
  });
});
