import { chmodSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DbBackupError } from "../../src/errors.js";
import { startScratchServer } from "../../src/restore/scratch-server.js";
import { findServerBinaries } from "../../src/restore/server-binaries.js";
import {
  catalogSummary,
  createDatabase,
  expectedFixture,
  loadFixture,
  type ScratchServer,
  sql,
  startTestServer,
} from "../helpers/postgres.js";
import { mountTmpfs, tmpfsUnavailableReason } from "../helpers/servers.js";

/** Resolves when something can listen on 127.0.0.1:port, i.e. nothing else holds it. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

describe.each([15, 17])("scratch server, Postgres %i", (major) => {
  let server: ScratchServer;
  let dataDirectory = "";

  beforeAll(async () => {
    server = await startTestServer(major);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("listens on 127.0.0.1 and runs the requested major", async () => {
    expect(server.major).toBe(major);
    expect(server.url()).toBe(`postgresql://postgres@127.0.0.1:${server.port}/postgres`);
    const [row] = await sql<{ num: string; addr: string; port: number; dir: string; user: string }>(
      server.url(),
      `select current_setting('server_version_num') as num, host(inet_server_addr()) as addr,
              inet_server_port() as port, current_setting('data_directory') as dir, current_user as user`,
    );
    expect(Math.floor(Number(row?.num) / 10_000)).toBe(major);
    expect(row?.addr).toBe("127.0.0.1");
    expect(row?.port).toBe(server.port);
    expect(row?.user).toBe("postgres");
    dataDirectory = row?.dir ?? "";
    expect(existsSync(dataDirectory)).toBe(true);
  });

  it("accepts the Supabase fixture, with the expected catalog and rows", async () => {
    const url = await createDatabase(server, "fixture");
    expect(url).toBe(server.url("fixture"));
    await loadFixture(url, "supabase");
    const { serverMajor, ...summary } = await catalogSummary(url);
    expect(serverMajor).toBe(major);
    expect(summary).toEqual(expectedFixture("supabase", major));
  });

  it("stop() removes the data directory and frees the port", async () => {
    expect(dataDirectory).not.toBe("");
    const idle = new pg.Client({ connectionString: server.url() });
    idle.on("error", () => {});
    await idle.connect(); // a connection left open must not keep the server alive

    await server.stop();

    expect(existsSync(dataDirectory)).toBe(false);
    expect(existsSync(path.dirname(dataDirectory))).toBe(false);
    await expect(sql(server.url(), "select 1")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await canListen(server.port)).toBe(true);
    await idle.end().catch(() => {});
    await expect(server.stop()).resolves.toBeUndefined(); // idempotent
  });
});

describe("scratch server of a major we have no binaries for", () => {
  it("fails with server_binaries_missing, naming the major", async () => {
    const error: unknown = await startScratchServer({ major: 9 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DbBackupError);
    expect(error).toMatchObject({ code: "server_binaries_missing" });
    expect((error as DbBackupError).message).toMatch(/\bPostgres 9\b/);
    expect((error as DbBackupError).hint).toMatch(/postgresql-9|pg9/);
  });
});

describe("a scratch server that can't start says why", () => {
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

  it.skipIf(!asRoot)(
    "as root, binaries under a 0700 folder: the server's user can't reach them, named with the fix",
    async () => {
      const found = findServerBinaries(15);
      const home = mkdtempSync(path.join(os.tmpdir(), "dbbackup-home-"));
      try {
        chmodSync(home, 0o700); // like /root, or a home folder
        symlinkSync(found.binDir, path.join(home, "bin"));
        const error = await startScratchServer({
          major: 15,
          binaries: { major: 15, binDir: path.join(home, "bin"), origin: "test" },
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DbBackupError);
        const e = error as DbBackupError;
        expect(e.message).toBe(
          `The scratch Postgres 15 server must run as postgres (Postgres refuses to run as root), but postgres can't reach its binaries in ${path.join(home, "bin")}: ${home} is mode 0700.`,
        );
        expect(e.hint).toContain(`chmod o+x ${home}`);
        expect(e.hint).toContain("postgresql-15");
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  );

  const tmpfsProblem = tmpfsUnavailableReason();
  it.skipIf(tmpfsProblem !== undefined)(
    "initdb's own error, when initdb fails (a full temp folder)",
    async () => {
      const tmpfs = mountTmpfs(1);
      const before = process.env.TMPDIR;
      process.env.TMPDIR = tmpfs.dir;
      try {
        const error = (await startScratchServer({ major: 15 }).catch((e: unknown) => e)) as DbBackupError;
        expect(error).toBeInstanceOf(DbBackupError);
        expect(error.message).toMatch(
          /^initdb for the scratch Postgres 15 server \(.+\) failed: .*No space left on device/,
        );
        expect(error.hint).toContain(`The temp folder (${tmpfs.dir}) is full`);
      } finally {
        if (before === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = before;
        tmpfs.unmount();
      }
    },
  );
});
