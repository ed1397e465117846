import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPgTools } from "../../src/backup/pgtools.js";
import { DUMP_FILE, verifyReadable } from "../../src/backup/verify.js";
import type { ScratchServer } from "../../src/restore/scratch-server.js";
import { sql, startTestServer } from "../helpers/postgres.js";

const LIVE = {
  tables: 2,
  views: 0,
  materializedViews: 0,
  policies: 0,
  extensions: 0,
  functions: 0,
  sequences: 0,
};

/** Stage 2 read by several pg_restore processes at once still reads, and checks, every block. */
describe("stage 2 read in parts", () => {
  let server: ScratchServer;
  let dir: string;
  let pgRestore: string;

  beforeAll(async () => {
    server = await startTestServer(15);
    await sql(
      server.url(),
      `create table public.a as select g as id, md5(g::text) as h from generate_series(1, 60000) g;
       create table public.b as select g as id, md5('b' || g) as h from generate_series(1, 60000) g;`,
    );
    dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-parts-"));
    const tools = await findPgTools(15, "15");
    pgRestore = tools.pgRestore;
    await execa(tools.pgDump, ["-Fc", "-Z1", `--file=${path.join(dir, DUMP_FILE)}`, server.url()]);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const weight = (table: string) => (table === "public.a" ? 2 : 1);

  it("passes a good archive read in two parts", async () => {
    const stage2 = await verifyReadable(dir, pgRestore, LIVE, { parts: 2, weight });
    expect(stage2.result.ok).toBe(true);
    expect(stage2.result.checks.find((c) => c.name === "data")?.detail).toBe(
      "every data block read (pg_restore -f /dev/null)",
    );
  });

  it("fails it when a data block in the middle of the archive is damaged", async () => {
    const file = path.join(dir, DUMP_FILE);
    const fd = openSync(file, "r+");
    try {
      writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, Math.floor(statSync(file).size * 0.6));
    } finally {
      closeSync(fd);
    }
    const stage2 = await verifyReadable(dir, pgRestore, LIVE, { parts: 2, weight });
    expect(stage2.result.ok).toBe(false);
    expect(stage2.result.checks.find((c) => c.name === "data")?.detail).toMatch(
      /^pg_restore -f \/dev\/null failed: .*(uncompress|decompress|zlib|invalid)/i,
    );
  });
});
