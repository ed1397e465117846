import pg from "pg";
import { DbBackupError } from "../errors.js";
import { type AppObjects, readSequencePositions, type SequencePosition } from "./app-objects.js";
import { readCatalog, type ServerVersion } from "./catalog-read.js";
import { type RowSample, readRowSample, type SampleLimits } from "./compression-sample.js";
import { explainConnectError } from "./connect-errors.js";
import { clientConfig } from "./connection.js";
import { type DatabaseIdentity, readIdentity } from "./database-identity.js";
import type { ReadableRelation } from "./grants.js";
import { countDataTables, describeObject, readReadability } from "./snapshot-queries.js";
import type { Target } from "./target.js";

export interface ExtensionInfo {
  name: string;
  version: string;
  schema: string;
}

export interface ViewInfo {
  schema: string;
  name: string;
  /** As Postgres stores them, e.g. ["security_invoker=true"]. */
  reloptions: string[];
}

export interface TableInfo {
  schema: string;
  name: string;
  /** Partitioned parents hold no rows of their own; their partitions are tables too. */
  partitioned: boolean;
  /** Exact `count(*)` when the table is small enough, else the planner's estimate. */
  rows: number;
  exact: boolean;
}

export interface CatalogCounts {
  tables: number;
  views: number;
  materializedViews: number;
  policies: number;
  extensions: number;
  functions: number;
  sequences: number;
}

/** What the live database held, read in the same snapshot pg_dump uses. */
export interface CatalogSnapshot {
  /** Which database it is (recorded in the manifest for restores to compare with). */
  identity?: DatabaseIdentity;
  version: string;
  serverVersionNum: number;
  serverMajor: number;
  database: string;
  /** pg_database_size: what the dump's speed is measured against. */
  databaseBytes: number;
  extensions: ExtensionInfo[];
  views: ViewInfo[];
  /**
   * Views Supabase's API roles (anon, authenticated) may SELECT that run with their owner's
   * rights (no security_invoker=true), so they can bypass the tables' RLS.
   */
  exposedViews: string[];
  /** RLS policies per table ("schema.table" → count), for the post-upgrade diff. */
  policiesByTable: Record<string, number>;
  tables: TableInfo[];
  /** Functions, materialized views, triggers: what a restore must bring back besides tables. */
  objects: AppObjects;
  /** Sequence positions, when read with the catalog (a restored copy's); a dump reads them earlier. */
  sequences?: SequencePosition[];
  counts: CatalogCounts;
}

export interface SnapshotSession {
  /** Exported snapshot id for `pg_dump --snapshot`, so the dump and our counts see the same data. */
  snapshotId: string;
  /** `select version()` */
  version: string;
  serverVersionNum: number;
  serverMajor: number;
  /** Tables holding rows (partitions, not their parents): the total of pg_dump's progress. */
  countDataTables(): Promise<number>;
  /** "view public.orders_summary": an object of `catalog` by OID, in words; undefined if unknown. */
  describeObject(catalog: string, oid: number): Promise<string | undefined>;
  /** Who we are on the server, and which tables and sequences pg_dump will need to read. */
  readability(): Promise<{ role: string; relations: ReadableRelation[] }>;
  /** Reads the catalog and row counts in the snapshot. */
  readCatalog(): Promise<CatalogSnapshot>;
  /** Every sequence's position now: call before pg_dump starts (sequences are outside snapshots). */
  readSequences(): Promise<SequencePosition[]>;
  /** Rows of the biggest tables as text, for choosing the compression (compression-sample.ts). */
  sampleRows(limits: SampleLimits): Promise<RowSample>;
  close(): Promise<void>;
}

/** A `pg` client connected the way libpq would (sslmode=prefer falls back), errors explained. */
export async function connectTarget(target: Target, jobId?: string): Promise<pg.Client> {
  const attempt = async (ssl?: boolean) => {
    const client = new pg.Client(clientConfig(target, ssl, jobId));
    client.on("error", () => {}); // a dropped idle connection must not crash the process
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  };
  try {
    return await attempt();
  } catch (error) {
    // libpq's default sslmode=prefer falls back to plain text when the server has no SSL.
    const mode = target.sslmode ?? "prefer";
    if (mode === "prefer" && /does not support SSL/i.test(String((error as Error)?.message))) {
      try {
        return await attempt(false);
      } catch (second) {
        throw explainConnectError(second, target);
      }
    }
    throw explainConnectError(error, target);
  }
}

export interface SnapshotOptions {
  lockWaitTimeoutSeconds: number;
  exactCountMaxRows: number;
  /** The run's id: its session is named dbbackup:<jobId> on the server. */
  jobId?: string;
}

function explainQueryError(error: unknown, target: Target, options: SnapshotOptions): DbBackupError {
  if (error instanceof DbBackupError) return error;
  const e = error as { code?: string; message?: string; table?: string };
  if (e.code === "55P03") {
    return new DbBackupError(
      "lock_timeout",
      `Table ${e.table ?? "(unknown)"} stayed locked for over ${options.lockWaitTimeoutSeconds}s while counting rows: a migration or long transaction holds it.`,
      "Wait for the migration to finish (see pg_stat_activity), then run the backup again; DBBACKUP_LOCK_WAIT_TIMEOUT sets the wait.",
    );
  }
  if (e.code === "42501") {
    return new DbBackupError(
      "permission_denied",
      `Permission denied reading the database as ${target.user}: ${e.message}.`,
      "Back up as the database owner (Supabase: the postgres user) or grant SELECT on every table to this user.",
    );
  }
  return explainConnectError(error, target);
}

/**
 * Opens one connection and exports a snapshot. Keep the session open until every pg_dump has
 * started: they import the snapshot, so our counts and the dump agree exactly.
 */
export async function openSnapshotSession(
  target: Target,
  options: SnapshotOptions,
): Promise<SnapshotSession> {
  const client = await connectTarget(target, options.jobId);
  try {
    await client.query("begin isolation level repeatable read read only");
    await client.query(`set local lock_timeout = '${Math.max(1, options.lockWaitTimeoutSeconds)}s'`);
    const snap = await client.query<{ id: string; version: string; num: string }>(
      "select pg_export_snapshot() as id, version() as version, current_setting('server_version_num') as num",
    );
    const row = snap.rows[0];
    const server: ServerVersion = { version: row?.version ?? "", serverVersionNum: Number(row?.num) };
    /** Reads asked for and not finished (queued or running). */
    let reading = 0;
    let closed: Promise<void> | undefined;
    // One read at a time: pg would interleave two reads' queries, and one of them (the sample) runs
    // in a savepoint whose timeout and rollback must not touch the other's.
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <T>(read: () => Promise<T>): Promise<T> => {
      reading++;
      const run = queue.then(read, read).finally(() => {
        reading--;
      });
      queue = run.catch(() => {});
      return run;
    };
    return {
      snapshotId: row?.id ?? "",
      ...server,
      serverMajor: Math.floor(server.serverVersionNum / 10_000),
      describeObject: (catalog, oid) => serial(() => describeObject(client, catalog, oid)),
      readability: () => serial(() => readReadability(client)),
      countDataTables: () => serial(() => countDataTables(client)),
      readSequences: () =>
        serial(() =>
          readSequencePositions(client).catch((e: unknown) => {
            throw explainQueryError(e, target, options);
          }),
        ),
      readCatalog: () =>
        serial(async () => {
          try {
            // One connection: its queries run one after the other anyway.
            const catalog = await readCatalog(client, options.exactCountMaxRows, target.database, server);
            return { ...catalog, identity: await readIdentity(client) };
          } catch (error) {
            throw explainQueryError(error, target, options);
          }
        }),
      sampleRows: (limits) => serial(() => readRowSample(client, limits)),
      close() {
        closed ??= (async () => {
          // A read still waiting (on a migration's lock, say) would hold a queued ROLLBACK, and so
          // the whole run, for up to the lock timeout after pg_dump failed or was cancelled. Just
          // end the connection then: pg drops the socket under an active query, and the server
          // rolls the transaction back itself.
          if (reading === 0) await client.query("rollback").catch(() => {});
          await client.end().catch(() => {});
        })();
        return closed;
      },
    };
  } catch (error) {
    await client.end().catch(() => {});
    throw explainQueryError(error, target, options);
  }
}

/** The live server's version string (e.g. "15.8"), for the scheduled version watch. */
export async function readLiveServerVersion(target: Target): Promise<string> {
  const client = await connectTarget(target);
  try {
    const r = await client.query<{ server_version: string }>("SHOW server_version");
    return r.rows[0]?.server_version ?? "";
  } finally {
    await client.end().catch(() => {});
  }
}
