import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseBackupId } from "../../src/backup/ids.js";
import {
  MANIFEST_FILE,
  MANIFEST_SCHEMA,
  type Manifest,
  type StageResult,
} from "../../src/backup/manifest.js";

/** `20261123_203000` → the Date it names (UTC). */
export function dateOfId(id: string): Date {
  const parsed = parseBackupId(id);
  if (!parsed) throw new Error(`not a backup id: ${id}`);
  const t = parsed.timestamp;
  return new Date(
    Date.UTC(
      Number(t.slice(0, 4)),
      Number(t.slice(4, 6)) - 1,
      Number(t.slice(6, 8)),
      Number(t.slice(9, 11)),
      Number(t.slice(11, 13)),
      Number(t.slice(13, 15)),
    ),
  );
}

export interface ManifestOverrides extends Partial<Omit<Manifest, "verification">> {
  verification?: Partial<Manifest["verification"]>;
}

/**
 * A complete manifest that passes `manifestSchema`, shaped like the pipeline writes for a
 * Postgres 15 backup verified to stage 2. env and label come from the id; times from its timestamp.
 */
export function makeManifest(id: string, overrides: ManifestOverrides = {}): Manifest {
  const parsed = parseBackupId(id);
  if (!parsed) throw new Error(`not a backup id: ${id}`);
  const started = dateOfId(id);
  const finished = new Date(started.getTime() + 42_000);
  const stages: StageResult[] = [
    {
      stage: "dumped",
      ok: true,
      at: new Date(finished.getTime() - 2_000).toISOString(),
      ms: 120,
      checks: ["db_full.dump", "schema.sql", "version.txt", "extensions.tsv", "views_reloptions.tsv"].map(
        (name) => ({ name, ok: true, detail: `${name} non-empty` }),
      ),
    },
    {
      stage: "readable",
      ok: true,
      at: new Date(finished.getTime() - 1_000).toISOString(),
      ms: 850,
      checks: [
        { name: "toc", ok: true, detail: "pg_restore --list: 144 entries" },
        { name: "count:tables", ok: true, detail: "11 in archive = 11 live" },
        { name: "data", ok: true, detail: "every data block read (pg_restore -f /dev/null)" },
      ],
    },
  ];
  const env = parsed.env;
  const source = env === "adhoc" ? "--url" : `DATABASE_URL_${env.toUpperCase().replace(/-/g, "_")}`;
  const files = [
    { name: "db_full.dump", bytes: 52_428_800, sha256: "ab".repeat(32) },
    { name: "schema.sql", bytes: 48_213, sha256: "cd".repeat(32) },
    { name: "version.txt", bytes: 160, sha256: "ef".repeat(32) },
    { name: "extensions.tsv", bytes: 96, sha256: "01".repeat(32) },
    { name: "views_reloptions.tsv", bytes: 210, sha256: "23".repeat(32) },
  ];
  const { verification, ...rest } = overrides;
  return {
    schema: MANIFEST_SCHEMA,
    id,
    env,
    label: parsed.label ?? null,
    source,
    target:
      "postgresql://postgres.abcd:****@aws-0-eu-central-1.pooler.supabase.com:5432/postgres?sslmode=require",
    requestedBy: "alice",
    tool: { name: "dbbackup", version: "0.1.0" },
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationsMs: { connect: 80, catalog: 300, dump: 39_000, verify: 900, finalize: 5, total: 42_000 },
    server: {
      version: "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc",
      versionNum: 150018,
      major: 15,
    },
    client: { pgDump: "/usr/lib/postgresql/15/bin/pg_dump", version: "15.18", major: 15 },
    compression: "gzip:1",
    lockWaitTimeoutSeconds: 60,
    snapshot: true,
    files,
    totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    catalog: {
      databaseBytes: 209_715_200,
      counts: {
        tables: 11,
        views: 5,
        materializedViews: 1,
        policies: 11,
        extensions: 4,
        functions: 3,
        sequences: 2,
      },
      extensions: [
        { name: "citext", version: "1.6", schema: "extensions" },
        { name: "pg_trgm", version: "1.6", schema: "extensions" },
        { name: "pgcrypto", version: "1.3", schema: "extensions" },
        { name: "plpgsql", version: "1.0", schema: "pg_catalog" },
        { name: "uuid-ossp", version: "1.1", schema: "extensions" },
      ],
      views: 5,
      securityInvokerViews: 2,
      tables: [{ schema: "public", name: "tenants", partitioned: false, rows: 3, exact: true }],
    },
    toc: {
      entries: 144,
      counts: {
        tables: 11,
        views: 5,
        materializedViews: 1,
        policies: 11,
        extensions: 4,
        functions: 3,
        sequences: 2,
        tableData: 10,
      },
    },
    verification: { stage: "readable", stages, ...verification },
    warnings: [],
    ...rest,
  };
}

/** Writes `<root>/<id>/manifest.json` (and returns the folder), as a finished backup leaves it. */
export function writeBackupFolder(root: string, manifest: Manifest, folderName = manifest.id): string {
  const dir = path.join(root, folderName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}
