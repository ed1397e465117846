import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSnapshotSession } from "../../src/backup/catalog-snapshot.js";
import { chooseCompression } from "../../src/backup/compression-choice.js";
import { SMALL_DATA_BYTES, sampleCompression } from "../../src/backup/compression-sample.js";
import { readManifest } from "../../src/backup/manifest.js";
import { runBackup } from "../../src/backup/pipeline.js";
import { parseTarget } from "../../src/backup/target.js";
import { loadConfig } from "../../src/config.js";
import type { ScratchServer } from "../../src/restore/scratch-server.js";
import { workdir } from "../helpers/cli.js";
import { createDatabase, sql, startTestServer, withClient } from "../helpers/postgres.js";

/** ~10 MB (more than SMALL_DATA_BYTES) of what Supabase tables are full of: uuids, hex hashes, base64-ish tokens, jsonb carrying them. */
const HIGH_ENTROPY_SQL = `
  create table public.sessions (
    id uuid primary key, user_id uuid not null, token_hash text not null, refresh text not null,
    claims jsonb not null, created_at timestamptz not null, amount numeric(12,2) not null);
  insert into public.sessions
    select md5(g::text)::uuid, md5('u' || g)::uuid, md5('h' || g) || md5('i' || g),
           translate(encode(decode(md5('r' || g) || md5('s' || g), 'hex'), 'base64'), '+/=', '-_'),
           jsonb_build_object('sub', md5('u' || g)::uuid, 'jti', md5('j' || g), 'ip', '10.' || g % 250 || '.1.' || g % 200),
           timestamptz '2024-01-01' + g * interval '37 seconds', (g % 100000) / 100.0
      from generate_series(1, 40000) g;
  analyze public.sessions;`;

async function sizeOfTables(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const r = await client.query<{ bytes: string }>("select pg_table_size('public.sessions') as bytes");
    return Number(r.rows[0]?.bytes);
  });
}

describe("the compression a backup chooses for its database (pg_dump 15)", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  let entropyUrl: string;
  let tinyUrl: string;
  const backup = async (url: string, env: Record<string, string> = {}) => {
    const config = loadConfig({ cwd: work.dir, env: { DATABASE_URL_STAGING: url, ...env } });
    const { dir } = await runBackup({ config, requestedBy: "tester" });
    return readManifest(dir);
  };

  beforeAll(async () => {
    server = await startTestServer(15);
    entropyUrl = await createDatabase(server, "entropy");
    await sql(entropyUrl, HIGH_ENTROPY_SQL);
    tinyUrl = await createDatabase(server, "tiny");
    await sql(tinyUrl, "create table public.notes (id int, body text); insert into notes values (1, 'hi');");
    work = workdir();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  it("high-entropy rows: a low gzip level chosen by a sample, and why, in the manifest", async () => {
    const manifest = await backup(entropyUrl);
    expect(manifest.compression).toMatch(/^gzip:[1-3]$/);
    expect(manifest.compressionChoice?.chosenBy).toBe("sample");
    expect(manifest.compressionChoice?.why).toMatch(
      new RegExp(`^sample of [0-9.]+ MB from 1 table: ${manifest.compression} 1\\.0[0-9]x gzip:6's size`),
    );
    expect(await sizeOfTables(entropyUrl)).toBeGreaterThan(SMALL_DATA_BYTES);
    const sample = manifest.compressionChoice?.sample;
    expect(sample?.rawBytes).toBeGreaterThan(256 * 1024);
    expect(sample?.rawBytes).toBeLessThanOrEqual(512 * 1024);
    expect(manifest.durationsMs.sample).toBeLessThan(1000);
    expect(manifest.verification.stage).toBe("readable");
  });

  it("DBBACKUP_COMPRESS set: no sample, the setting is the reason", async () => {
    const manifest = await backup(entropyUrl, { DBBACKUP_COMPRESS: "gzip:7" });
    expect(manifest.compression).toBe("gzip:7");
    expect(manifest.compressionChoice).toEqual({ chosenBy: "setting", why: "DBBACKUP_COMPRESS=gzip:7" });
    expect(manifest.durationsMs.sample).toBeUndefined();
  });

  it("too little data to be worth a sample: the fastest level, saying so", async () => {
    const manifest = await backup(tinyUrl);
    expect(manifest.compression).toBe("gzip:1");
    expect(manifest.compressionChoice).toMatchObject({ chosenBy: "default" });
    expect(manifest.compressionChoice?.why).toMatch(
      /^0\.0 MB of tables, too little for a sample to pay: the fastest level, gzip:1$/,
    );
  });

  it("a backup whose sample can't finish (a migration holds a table a moment) keeps the default and completes", async () => {
    await withClient(entropyUrl, async (locker) => {
      await locker.query("begin; lock table public.sessions in access exclusive mode");
      const release = setTimeout(() => void locker.query("rollback").catch(() => {}), 2_500);
      try {
        const manifest = await backup(entropyUrl, { DBBACKUP_LOCK_WAIT_TIMEOUT: "30s" });
        expect(manifest.compression).toBe("gzip:4");
        expect(manifest.compressionChoice?.why).toBe(
          "sample failed (canceling statement due to statement timeout): the default, gzip:4",
        );
        expect(manifest.verification.stage).toBe("readable");
      } finally {
        clearTimeout(release);
        await locker.query("rollback").catch(() => {});
      }
    });
  });

  it("a sample that can't finish (a table locked past its timeout) keeps the default and the snapshot", async () => {
    await withClient(entropyUrl, async (locker) => {
      await locker.query("begin; lock table public.sessions in access exclusive mode");
      const session = await openSnapshotSession(parseTarget(entropyUrl, "staging", "DATABASE_URL_STAGING"), {
        lockWaitTimeoutSeconds: 30,
        exactCountMaxRows: 1_000_000,
      });
      try {
        const choice = chooseCompression(await sampleCompression(session, undefined), 15, undefined);
        expect(choice.spec).toBe("gzip:4");
        expect(choice.chosenBy).toBe("default");
        expect(choice.why).toMatch(
          /^sample failed \(canceling statement due to statement timeout\): the default/,
        );
        await locker.query("rollback");
        // The snapshot's transaction survived the failed sample: the catalog still reads in it.
        const catalog = await session.readCatalog();
        expect(catalog.tables.find((t) => t.name === "sessions")?.rows).toBe(40_000);
      } finally {
        await session.close();
      }
    });
  });
});
