import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBackupId } from "../../src/backup/ids.js";
import { runBackup } from "../../src/backup/pipeline.js";
import { loadConfig } from "../../src/config.js";
import type { ScratchServer } from "../../src/restore/scratch-server.js";
import { workdir } from "../helpers/cli.js";
import { createDatabase, sql, startTestServer } from "../helpers/postgres.js";

describe("backup ids: one env's backups sort in the order they were taken, whatever their labels", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  let url: string;

  beforeAll(async () => {
    server = await startTestServer(15);
    url = await createDatabase(server, "ids");
    await sql(url, "create table public.notes (id int); insert into notes values (1);");
    work = workdir();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("two backups started in the same second get ids a second apart, the later one later", async () => {
    const config = loadConfig({ cwd: work.dir, env: { DATABASE_URL_STAGING: url } });
    // The same clock for both: as if the second began within the second the first did.
    const now = () => new Date("2026-12-06T08:12:42.300Z");
    const older = await runBackup({ config, requestedBy: "tester", label: "older", now });
    const newer = await runBackup({ config, requestedBy: "tester", label: "newer", now });
    const other = await runBackup({ config, requestedBy: "tester", label: "zzz", now });
    expect(parseBackupId(older.id)?.timestamp).toBe("20261206_081242");
    expect(parseBackupId(newer.id)?.timestamp).toBe("20261206_081243");
    expect(parseBackupId(other.id)?.timestamp).toBe("20261206_081244");
    // Newest first by id, as list and prune order them.
    expect([older.id, newer.id, other.id].sort().reverse()).toEqual([other.id, newer.id, older.id]);
  });
});
