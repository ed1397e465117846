import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { BackupListener } from "../backup/events.js";
import type { Manifest } from "../backup/manifest.js";
import { runBackup } from "../backup/pipeline.js";
import { loadConfig } from "../config.js";
import { type RestoreEvent, type RestoreTestOutcome, runRestoreTest } from "../restore/restore-test.js";
import { startScratchServer } from "../restore/scratch-server.js";

/** The Supabase-shaped sample (roles, auth schema, RLS, security_invoker views, partitions, enums). */
export const SAMPLE_SQL = path.join(path.dirname(fileURLToPath(import.meta.url)), "supabase-sample.sql");
/** What a fresh project has before the sample: loaded first. */
const PLATFORM_SQL = path.join(path.dirname(SAMPLE_SQL), "supabase-platform.sql");

function readShipped(file: string): string {
  // From dist/src/demo the .sql stays in src/demo: tsc copies no data files.
  for (const candidate of [file, file.replace(`${path.sep}dist${path.sep}`, path.sep)]) {
    try {
      return readFileSync(candidate, "utf8");
    } catch {
      // try the next
    }
  }
  throw new Error(`the demo's sample SQL is missing (${file})`);
}

function sampleSql(): string {
  return `${readShipped(PLATFORM_SQL)}\n${readShipped(SAMPLE_SQL)}`;
}

export interface DemoOptions {
  major?: number;
  onBackupEvent?: BackupListener;
  onRestoreEvent?: (event: RestoreEvent) => void;
  onNote?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DemoOutcome {
  manifest: Manifest;
  backupDir: string;
  restore: RestoreTestOutcome;
}

/**
 * The whole product in one run, with nothing configured: a disposable Postgres with a sample
 * database, a backup through the real pipeline, a restore test, then everything removed.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoOutcome> {
  const note = options.onNote ?? (() => {});
  const work = mkdtempSync(path.join(os.tmpdir(), "dbbackup-demo-"));
  const server = await startScratchServer({ major: options.major ?? 15 });
  const stop = () => {
    void server.stop().finally(() => rmSync(work, { recursive: true, force: true }));
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    note(`started a throwaway Postgres ${server.major} on 127.0.0.1:${server.port}`);
    const admin = new pg.Client({ connectionString: server.url() });
    await admin.connect();
    await admin.query("create database demo");
    await admin.end();
    const sample = new pg.Client({ connectionString: server.url("demo") });
    await sample.connect();
    await sample.query(sampleSql());
    await sample.end();
    note(
      "loaded a Supabase-shaped sample: auth.users, RLS policies, security_invoker views, partitions, enums",
    );
    // The demo's own folder and URL: a .env in the current folder is never read or touched.
    const config = loadConfig({ cwd: work, env: { DATABASE_URL_STAGING: server.url("demo"), USER: "demo" } });
    const backup = await runBackup({
      config,
      label: "demo",
      requestedBy: "demo",
      signal: options.signal,
      onEvent: options.onBackupEvent,
    });
    const restore = await runRestoreTest({
      config,
      ref: backup.id,
      requestedBy: "demo",
      cwd: work,
      signal: options.signal,
      ...(options.onRestoreEvent ? { onEvent: options.onRestoreEvent } : {}),
    });
    return { manifest: backup.manifest, backupDir: backup.dir, restore };
  } finally {
    options.signal?.removeEventListener("abort", stop);
    await server.stop();
    rmSync(work, { recursive: true, force: true });
    note("stopped the throwaway Postgres and removed its data and the demo backup");
  }
}
