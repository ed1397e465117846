import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SequencePosition } from "../../src/backup/app-objects.js";
import type { CatalogSnapshot } from "../../src/backup/catalog-snapshot.js";
import { readManifest } from "../../src/backup/manifest.js";
import { runBackup } from "../../src/backup/pipeline.js";
import { loadConfig } from "../../src/config.js";
import { restoreAdvice } from "../../src/restore/advice.js";
import { compareRestore } from "../../src/restore/parity.js";
import { materializedViewRows, sequenceRows } from "../../src/restore/parity-objects.js";
import { runRestoreTest } from "../../src/restore/restore-test.js";
import type { ScratchServer } from "../../src/restore/scratch-server.js";
import { workdir } from "../helpers/cli.js";
import { createDatabase, sql, startTestServer } from "../helpers/postgres.js";

const seq = (lastValue: string, isCalled = true, increment = "1"): SequencePosition => ({
  schema: "public",
  name: "orders_id_seq",
  lastValue,
  isCalled,
  increment,
});

describe("sequences against the dump's record", () => {
  const verdict = (recorded: SequencePosition, restored: SequencePosition) =>
    sequenceRows([recorded], [restored], new Set(), [])[0]?.result;

  it("level is ok, ahead is an expected difference, behind fails", () => {
    expect(verdict(seq("50"), seq("50"))).toBe("ok");
    expect(verdict(seq("50"), seq("57"))).toBe("expected");
    expect(verdict(seq("50"), seq("49"))).toBe("failed");
    // Same value, but the restored one will hand out 50 again.
    expect(verdict(seq("50", true), seq("50", false))).toBe("failed");
    expect(verdict(seq("50", false), seq("50", true))).toBe("expected");
  });

  it("a descending sequence is ahead when lower; bigints past 2^53 compare exactly", () => {
    expect(verdict(seq("-10", true, "-1"), seq("-12", true, "-1"))).toBe("expected");
    expect(verdict(seq("-10", true, "-1"), seq("-9", true, "-1"))).toBe("failed");
    expect(verdict(seq("9007199254740993"), seq("9007199254740992"))).toBe("failed");
  });

  it("the project's own sequence (kept with its rows) is an expected difference", () => {
    const rows = sequenceRows([seq("50")], [seq("3")], new Set(["public.orders_id_seq"]), []);
    expect(rows[0]).toMatchObject({ result: "expected", note: "the project's own, kept with its rows" });
  });
});

describe("materialized views against the dump's record", () => {
  const mv = (populated: boolean, rows: number, exact = true) => ({
    schema: "public",
    name: "order_stats",
    populated,
    rows,
    exact,
  });

  it("unpopulated after the restore fails; rows rebuilt from the tables may differ", () => {
    expect(materializedViewRows([mv(true, 3)], [mv(false, 0, true)], [])[0]).toMatchObject({
      result: "failed",
      expected: "populated, 3 rows",
      actual: "not populated",
    });
    expect(materializedViewRows([mv(true, 3)], [mv(true, 4)], [])[0]?.result).toBe("expected");
    expect(materializedViewRows([mv(false, 0)], [mv(false, 0)], [])[0]?.result).toBe("ok");
  });
});

describe("a backup from before restores compared these kinds", () => {
  it("says which kinds were not compared and why, instead of passing them", () => {
    const restored = {
      tables: [],
      views: [],
      extensions: [],
      counts: { policies: 0 },
      objects: { functions: {}, materializedViews: [], triggers: {}, eventTriggers: [] },
    } as unknown as CatalogSnapshot;
    const parity = compareRestore({
      tables: [],
      views: [],
      extensions: [],
      policies: 0,
      errors: [],
      restored,
      missingExtensions: new Set(),
    });
    expect(parity.compared.filter((c) => c.compared).map((c) => c.kind)).toEqual([
      "tables",
      "views",
      "extensions",
      "policies",
    ]);
    expect(parity.compared.filter((c) => !c.compared)).toEqual([
      { kind: "sequences", compared: false, why: expect.stringMatching(/older dbbackup/) },
      { kind: "functions and procedures", compared: false, why: expect.stringMatching(/older dbbackup/) },
      { kind: "materialized views", compared: false, why: expect.stringMatching(/older dbbackup/) },
      { kind: "triggers and event triggers", compared: false, why: expect.stringMatching(/older dbbackup/) },
    ]);
  });
});

/** An app's database: ids from a sequence, a function and a procedure, matviews, triggers. */
const APP = `
  create table public.orders (id serial primary key, total numeric not null, updated_at timestamptz);
  insert into public.orders (total) select g from generate_series(1, 50) g;
  create function public.order_total(order_id integer) returns numeric language sql stable
    as 'select total from public.orders where id = order_id';
  create procedure public.archive_orders() language sql as 'delete from public.orders where false';
  create function public.touch() returns trigger language plpgsql
    as 'begin new.updated_at := now(); return new; end';
  create trigger orders_touch before update on public.orders for each row execute function public.touch();
  create materialized view public.order_stats as select count(*) as n, sum(total) as total from public.orders;
  create materialized view public.later_stats as select id from public.orders with no data;
  create function public.note_ddl() returns event_trigger language plpgsql as 'begin end';
  create event trigger note_ddl on ddl_command_end execute function public.note_ddl();
`;

describe("restore parity of what breaks apps, on Postgres 15", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  let url: string;
  const config = () => loadConfig({ cwd: work.dir, env: { DATABASE_URL_STAGING: url } });
  const backup = async (label: string) =>
    (await runBackup({ config: config(), label, requestedBy: "tester" })).dir;
  const restoreTest = (ref: string) =>
    runRestoreTest({ config: config(), ref, requestedBy: "alice", cwd: work.dir });
  /** The backup's manifest, changed as if the dump had seen something the archive doesn't hold. */
  const editManifest = (dir: string, edit: (catalog: Record<string, unknown> & ManifestObjects) => void) => {
    const file = path.join(dir, "manifest.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as {
      catalog: Record<string, unknown> & ManifestObjects;
    };
    edit(manifest.catalog);
    writeFileSync(file, JSON.stringify(manifest));
  };

  beforeAll(async () => {
    server = await startTestServer(15);
    url = await createDatabase(server, "app");
    await sql(url, APP);
    work = workdir();
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("records each kind at dump time and finds every one back, saying which kinds it compared", async () => {
    const dir = await backup("recorded");
    const { catalog } = await readManifest(dir);
    expect(catalog.sequences).toEqual([
      { schema: "public", name: "orders_id_seq", lastValue: "50", isCalled: true, increment: "1" },
    ]);
    expect(catalog.objects?.functions.public).toEqual([
      "function note_ddl()",
      "function order_total(integer)",
      "function touch()",
      "procedure archive_orders()",
    ]);
    expect(catalog.objects?.materializedViews).toEqual([
      { schema: "public", name: "later_stats", populated: false, rows: 0, exact: true },
      { schema: "public", name: "order_stats", populated: true, rows: 1, exact: true },
    ]);
    expect(catalog.objects?.triggers).toEqual({ "public.orders": ["orders_touch"] });
    expect(catalog.objects?.eventTriggers).toEqual(["note_ddl"]);

    const outcome = await restoreTest(path.basename(dir));
    expect(outcome.parity.filter((p) => p.result !== "ok")).toEqual([]);
    expect(outcome.ok).toBe(true);
    expect(outcome.compared.every((c) => c.compared)).toBe(true);
    expect(outcome.compared.map((c) => c.kind)).toContain("triggers and event triggers");
    const row = (kind: string, name: string) =>
      outcome.parity.find((p) => p.kind === kind && p.name === name);
    expect(row("sequence", "public.orders_id_seq")).toMatchObject({ expected: "50", actual: "50" });
    expect(row("function", "schema public")).toMatchObject({ expected: "4 functions and procedures" });
    expect(row("materialized view", "public.later_stats")).toMatchObject({ actual: "not populated" });
    expect(row("trigger", "public.orders")).toMatchObject({ actual: "orders_touch" });
    expect(row("event trigger", "note_ddl")).toMatchObject({ result: "ok" });
  });

  it("a sequence the dump saw further on, a function, a trigger and an event trigger the archive lacks: each fails, named", async () => {
    const dir = await backup("tampered");
    editManifest(dir, (catalog) => {
      const sequence = catalog.sequences?.[0];
      if (sequence) sequence.lastValue = "75";
      catalog.objects?.functions.public?.push("function refund(integer, numeric)");
      catalog.objects?.triggers["public.orders"]?.push("orders_audit");
      catalog.objects?.eventTriggers.push("block_drops");
    });
    const outcome = await restoreTest(path.basename(dir));
    expect(outcome.ok).toBe(false);
    const failed = outcome.parity.filter((p) => p.result === "failed").map((p) => `${p.kind} ${p.name}`);
    expect(failed).toEqual([
      "sequence public.orders_id_seq",
      "function schema public",
      "function public.refund(integer, numeric)",
      "trigger orders_audit on public.orders",
      "event trigger block_drops",
    ]);
    const sequence = outcome.parity.find((p) => p.kind === "sequence");
    expect(sequence).toMatchObject({ expected: "75", actual: "50" });
    expect(restoreAdvice(outcome.parity)).toContain("SELECT setval('public.orders_id_seq', 75, true);");
  });

  it("a materialized view the restore can't refresh stays unpopulated: stage 3 fails naming it", async () => {
    // The classic: a function that leans on search_path, which a restore runs without.
    const broken = await createDatabase(server, "broken");
    await sql(
      broken,
      `create table public.items (id int);
       insert into public.items select generate_series(1, 3);
       create function public.item_count() returns bigint language sql stable as 'select count(*) from items';
       create materialized view public.item_summary as select public.item_count() as n;`,
    );
    const dir = (
      await runBackup({
        config: loadConfig({ cwd: work.dir, env: { DATABASE_URL_STAGING: broken } }),
        label: "unrefreshable",
        requestedBy: "tester",
      })
    ).dir;
    const outcome = await restoreTest(path.basename(dir));
    expect(outcome.ok).toBe(false);
    expect(outcome.parity.find((p) => p.kind === "materialized view")).toMatchObject({
      name: "public.item_summary",
      expected: "populated, 1 rows",
      actual: "not populated",
      result: "failed",
    });
    expect(outcome.parity.find((p) => p.kind === "table" && p.name === "public.items")?.result).toBe("ok");
  });
});

interface ManifestObjects {
  sequences?: { lastValue: string }[];
  objects?: {
    functions: Record<string, string[]>;
    triggers: Record<string, string[]>;
    eventTriggers: string[];
  };
}
