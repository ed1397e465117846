import os from "node:os";
import type { z } from "zod/v3";
import { PgStateStore } from "../state/pg-store.js";
import type { StateStore } from "../state/store.js";
import { type BackupSummary, summaryCoreSchema } from "./catalog.js";
import type { Manifest } from "./manifest.js";

/**
 * With the state in Postgres, several hosts file backups (bot replicas, workers): each records what
 * it filed in the state database's catalog, so `list` on any host shows every host's backups and
 * where they are. With the state in files, the backups folder is the catalog and nothing is recorded.
 */

const hasSql = (store: StateStore): store is PgStateStore => store instanceof PgStateStore;

const entrySchema = summaryCoreSchema;

/** Records a backup just filed on this host (a folder `dir`). */
export async function recordFiled(store: StateStore, manifest: Manifest, dir: string): Promise<void> {
  if (!hasSql(store)) return;
  const summary: z.infer<typeof entrySchema> = {
    id: manifest.id,
    env: manifest.env,
    label: manifest.label,
    requestedBy: manifest.requestedBy,
    finishedAt: manifest.finishedAt,
    totalBytes: manifest.totalBytes,
    serverVersion: manifest.server.version,
    stage: manifest.verification.stage,
  };
  await store.sql(
    `insert into dbbackup_catalog (id, env, host, dir, summary) values ($1, $2, $3, $4, $5)
     on conflict (id) do update set host = excluded.host, dir = excluded.dir, summary = excluded.summary,
       filed_at = now(), gone_at = null`,
    [manifest.id, manifest.env, os.hostname(), dir, JSON.stringify(summary)],
  );
}

/** Marks backups deleted (pruned) on this host. */
export async function recordGone(store: StateStore, ids: readonly string[]): Promise<void> {
  if (!hasSql(store) || ids.length === 0) return;
  await store.sql("update dbbackup_catalog set gone_at = now() where id = any($1) and gone_at is null", [
    ids,
  ]);
}

/** Backups filed on other hosts (not among `here`), as `list` shows them: with the host they are on. */
export async function backupsElsewhere(
  store: StateStore,
  here: ReadonlySet<string>,
  env: string | undefined,
): Promise<BackupSummary[]> {
  if (!hasSql(store)) return [];
  const r = await store.sql<{ host: string; dir: string; summary: unknown }>(
    "select host, dir, summary from dbbackup_catalog where gone_at is null and ($1::text is null or env = $1)",
    [env ?? null],
  );
  const out: BackupSummary[] = [];
  for (const row of r.rows) {
    const parsed = entrySchema.safeParse(row.summary);
    if (!parsed.success || here.has(parsed.data.id)) continue;
    out.push({ ...parsed.data, dir: row.dir, host: row.host });
  }
  return out;
}

/** The newest verified backup of `env` on any host, and where it is; undefined without the state database. */
export async function newestFiled(
  store: StateStore,
  env: string,
): Promise<{ id: string; host: string } | undefined> {
  if (!hasSql(store)) return undefined;
  // Backup ids start with their UTC time, so the greatest id is the newest.
  const r = await store.sql<{ id: string; host: string }>(
    `select id, host from dbbackup_catalog
      where env = $1 and gone_at is null and summary ->> 'stage' is not null
      order by id desc limit 1`,
    [env],
  );
  return r.rows[0];
}
