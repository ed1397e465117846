import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPgTools, type PgTools, parseClientVersion } from "../../src/backup/pgtools.js";
import { DbBackupError } from "../../src/errors.js";

describe("parseClientVersion", () => {
  it.each([
    ["pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", { version: "15.18", major: 15 }],
    ["pg_dump (PostgreSQL) 17.2", { version: "17.2", major: 17 }],
    ["pg_restore (PostgreSQL) 16.6 (Ubuntu 16.6-1.pgdg22.04+1)\n", { version: "16.6", major: 16 }],
    ["pg_dump (PostgreSQL) 18beta1", { version: "18", major: 18 }],
  ])("%j → %j", (output, expected) => {
    expect(parseClientVersion(output)).toEqual(expected);
  });

  it.each(["", "command not found", "pg_dump 15.2"])("gives undefined for %j", (output) => {
    expect(parseClientVersion(output)).toBeUndefined();
  });
});

/** Temp folders holding fake pg_dump/pg_restore scripts; each test uses fresh ones (versions are cached per folder). */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function fakeBinDir(version: string, options: { restore?: boolean; exitCode?: number } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-fakepg-"));
  made.push(dir);
  const script = (name: string) =>
    `#!/bin/sh\necho "${name} (PostgreSQL) ${version}"\nexit ${options.exitCode ?? 0}\n`;
  writeFileSync(path.join(dir, "pg_dump"), script("pg_dump"), { mode: 0o755 });
  if (options.restore !== false)
    writeFileSync(path.join(dir, "pg_restore"), script("pg_restore"), { mode: 0o755 });
  return dir;
}

async function refusal(promise: Promise<PgTools>): Promise<DbBackupError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DbBackupError) return error;
    throw error;
  }
  throw new Error("findPgTools chose a client");
}

describe("findPgTools", () => {
  it("chooses PG_BIN_DIR's pg_dump 19 for a Postgres 19 server", async () => {
    const dir = fakeBinDir("19.1");
    const tools = await findPgTools(19, "19.0", dir);
    expect(tools).toEqual({
      pgDump: path.join(dir, "pg_dump"),
      pgRestore: path.join(dir, "pg_restore"),
      version: "19.1",
      major: 19,
      warnings: [],
    });
  });

  it("searches PG_BIN_DIR before the machine's folders", async () => {
    const dir = fakeBinDir("15.99");
    const tools = await findPgTools(15, "15.18", dir);
    expect(tools.pgDump).toBe(path.join(dir, "pg_dump"));
    expect(tools.version).toBe("15.99");
  });

  it("prefers the server's own major to a newer client in PG_BIN_DIR", async () => {
    // The machine has pg_dump 15 (postgresql-client-15).
    const dir = fakeBinDir("19.1");
    const tools = await findPgTools(15, "15.18", dir);
    expect(tools.major).toBe(15);
    expect(tools.pgDump).not.toBe(path.join(dir, "pg_dump"));
    expect(tools.warnings).toEqual([]);
  });

  it("uses a newer client when no same-major one exists, with a warning naming both and the package", async () => {
    const dir = fakeBinDir("19.1");
    const tools = await findPgTools(18, "18.2", dir);
    expect(tools.major).toBe(19);
    expect(tools.pgDump).toBe(path.join(dir, "pg_dump"));
    expect(tools.warnings).toHaveLength(1);
    expect(tools.warnings[0]).toContain("pg_dump 19.1");
    expect(tools.warnings[0]).toContain("Postgres 18");
    expect(tools.warnings[0]).toContain("postgresql-client-18");
  });

  it("refuses a server newer than every client: client_too_old naming both versions and the package", async () => {
    const dir = fakeBinDir("19.1");
    const error = await refusal(findPgTools(20, "20.1", dir));
    expect(error.code).toBe("client_too_old");
    expect(error.message).toContain("Postgres 20.1");
    expect(error.message).toContain("19.1");
    expect(error.message).toContain(dir);
    expect(error.hint).toContain("postgresql-client-20");
    expect(error.hint).toContain("PG_BIN_DIR");
  });

  it("refuses a Postgres 17 server with the machine's pg_dump 15", async () => {
    const error = await refusal(findPgTools(17, "17.2"));
    expect(error.code).toBe("client_too_old");
    expect(error.message).toMatch(/Postgres 17\.2 but the newest pg_dump here is 15\.\d+/);
    expect(error.hint).toContain("postgresql-client-17");
  });

  it("skips a folder with pg_dump but no pg_restore", async () => {
    const dir = fakeBinDir("19.1", { restore: false });
    const error = await refusal(findPgTools(19, "19.0", dir));
    expect(error.code).toBe("client_too_old");
    expect(error.hint).toContain("postgresql-client-19");
  });

  it("skips a pg_dump that fails to run", async () => {
    const dir = fakeBinDir("19.1", { exitCode: 3 });
    const error = await refusal(findPgTools(19, "19.0", dir));
    expect(error.code).toBe("client_too_old");
    expect(error.message).not.toContain(dir);
  });
});
