import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSnapshotSession } from "../../src/backup/catalog-snapshot.js";
import { parseTarget } from "../../src/backup/target.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { sql } from "../helpers/postgres.js";

/** The run's own session names objects pg_dump only knows by OID (for errors a person can act on). */
describe("describeObject", () => {
  let server: ScratchServer;
  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await sql(
      server.url(),
      `create table public.orders (id int, total numeric);
       create view public.order_totals as select sum(total) from public.orders;
       create function public.plus_one(x int) returns int language sql as 'select x + 1';`,
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("names a view, a table and a function by OID, and nothing for an OID that isn't there", async () => {
    const [ids] = await sql<{ view: number; table: number; fn: number }>(
      server.url(),
      `select 'public.order_totals'::regclass::oid::int as view, 'public.orders'::regclass::oid::int as table,
              'public.plus_one(int)'::regprocedure::oid::int as fn`,
    );
    const session = await openSnapshotSession(parseTarget(server.url(), "staging", "DATABASE_URL_STAGING"), {
      lockWaitTimeoutSeconds: 5,
      exactCountMaxRows: 0,
    });
    try {
      expect(await session.describeObject("pg_class", ids?.view ?? 0)).toBe("view public.order_totals");
      expect(await session.describeObject("pg_class", ids?.table ?? 0)).toBe("table public.orders");
      expect(await session.describeObject("pg_proc", ids?.fn ?? 0)).toBe("function plus_one(integer)");
      expect(await session.describeObject("pg_class", 1)).toBeUndefined();
    } finally {
      await session.close();
    }
  });
});
