import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { sql } from "../helpers/postgres.js";

/** The runbook's "before bulk data operations", caught after the fact: what changed since the last backup. */
describe("row counts since the previous backup", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  const cli = (...args: string[]) => runCli(args, { cwd: work.dir });

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    await sql(
      server.url(),
      `create table public.orders (id int primary key); insert into orders select generate_series(1, 1000);
       create table public.audit (id int primary key); insert into audit select generate_series(1, 50);
       create table public.users (id int primary key); insert into users select generate_series(1, 100);`,
    );
    work = workdir({ DATABASE_URL_STAGING: server.url(), DBBACKUP_ROW_DROP_ALERT: "20%" });
  });
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("the summary, the JSON and diff flag a table that lost more than the setting's share, and one that is gone", async () => {
    const first = await cli("before", "--json");
    expect(first.exitCode, first.stderr).toBe(0);
    const firstId = (JSON.parse(first.stdout) as { id: string }).id;
    await sql(
      server.url(),
      "delete from orders where id > 400; delete from users where id > 90; drop table audit",
    );

    const second = await cli("after");
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`rows\\s+since ${firstId}: 2 tables changed, 1 gone`));
    expect(second.stdout).toContain(
      `! public.orders lost 60% of its rows (1,000 → 400) since ${firstId} (more than 20% lost)`,
    );
    expect(second.stdout).toContain(`! public.audit is gone (it had 50 rows) since ${firstId}`);
    // users lost 10%: under the 20% setting, counted but not flagged.
    expect(second.stdout).not.toContain("public.users lost");

    const json = JSON.parse((await cli("third", "--json")).stdout) as {
      id: string;
      rowChanges: { since: string; alarms: number; dropPercent: number };
    };
    expect(json.rowChanges).toMatchObject({ alarms: 0, dropPercent: 20 });

    const diff = await cli("diff", firstId, json.id);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout).toContain("rows        2 tables changed, 1 gone");
    expect(diff.stdout).toContain("public.orders lost 60% of its rows (1,000 → 400)  (more than 20% lost)");
    const live = JSON.parse((await cli("diff", firstId, "live", "--json")).stdout) as {
      rows: { alarms: number; disappeared: { table: string }[] };
    };
    expect(live.rows.alarms).toBe(2);
    expect(live.rows.disappeared).toEqual([{ table: "public.audit", before: 50 }]);
  });
});
