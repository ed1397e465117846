import type pg from "pg";

/**
 * The state database's tables, created and migrated by dbbackup itself. Each migration runs once, in
 * its own transaction, under an advisory lock: replicas starting together wait for one another and
 * then find the work done.
 */
const MIGRATIONS: readonly string[] = [
  `create table dbbackup_docs (
     name text primary key,
     value jsonb not null,
     updated_at timestamptz not null default now()
   );
   create table dbbackup_logs (
     id bigserial primary key,
     log text not null,
     record jsonb not null,
     at timestamptz not null default now()
   );
   create index dbbackup_logs_by_log on dbbackup_logs (log, id);
   create table dbbackup_claims (
     key text primary key,
     expires_at timestamptz not null
   );
   create table dbbackup_instances (
     id text primary key,
     record jsonb not null,
     renewed_at timestamptz not null,
     expires_at timestamptz not null
   );`,
  `create table dbbackup_queue (
     id text primary key,
     verb text not null,
     env text,
     args jsonb not null,
     requested_by text not null,
     approved_by text,
     status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
     worker text,
     worker_host text,
     attempts int not null default 0,
     max_attempts int not null default 1 check (max_attempts >= 1),
     cancel_requested boolean not null default false,
     result jsonb,
     error jsonb,
     created_at timestamptz not null default now(),
     started_at timestamptz,
     finished_at timestamptz
   );
   create index dbbackup_queue_waiting on dbbackup_queue (created_at) where status = 'queued';
   create table dbbackup_job_events (
     id bigserial primary key,
     job_id text not null references dbbackup_queue (id) on delete cascade,
     event jsonb not null
   );
   create index dbbackup_job_events_by_job on dbbackup_job_events (job_id, id);`,
  `create table dbbackup_catalog (
     id text primary key,
     env text not null,
     host text not null,
     dir text not null,
     summary jsonb not null,
     filed_at timestamptz not null default now(),
     gone_at timestamptz
   );
   create index dbbackup_catalog_present on dbbackup_catalog (env, id) where gone_at is null;`,
  // Approvals move from one document to a row each: a decision becomes one conditional UPDATE.
  `create table dbbackup_approvals (
     id text primary key,
     status text not null check (status in ('pending', 'approved', 'denied', 'expired')),
     requested_at timestamptz not null,
     expires_at timestamptz not null,
     version int not null default 1,
     body jsonb not null
   );
   create index dbbackup_approvals_pending on dbbackup_approvals (expires_at) where status = 'pending';
   insert into dbbackup_approvals (id, status, requested_at, expires_at, body)
     select a ->> 'id', a ->> 'status', (a ->> 'requestedAt')::timestamptz, (a ->> 'expiresAt')::timestamptz, a
       from dbbackup_docs d cross join jsonb_array_elements(d.value -> 'approvals') a
      where d.name = 'approvals';
   delete from dbbackup_docs where name = 'approvals';`,
];

/** Advisory lock keys of this database (the state database is dbbackup's own). */
export const MIGRATION_LOCK = 7_301_001;
export const STATE_LOCK = 7_301_002;

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to SCHEMA_VERSION; returns the versions applied now (none when already there). */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
  try {
    await client.query(
      "create table if not exists dbbackup_migrations (version int primary key, applied_at timestamptz not null default now())",
    );
    const done = await client.query<{ version: number }>("select version from dbbackup_migrations");
    const have = new Set(done.rows.map((r) => r.version));
    const applied: number[] = [];
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (have.has(version)) continue;
      await client.query("begin");
      try {
        await client.query(sql);
        await client.query("insert into dbbackup_migrations (version) values ($1)", [version]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback").catch(() => {});
        throw error;
      }
      applied.push(version);
    }
    const newest = Math.max(0, ...have);
    if (newest > SCHEMA_VERSION)
      throw new Error(
        `the state database is at schema version ${newest}, newer than this dbbackup knows (${SCHEMA_VERSION}): upgrade dbbackup on this host`,
      );
    return applied;
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
  }
}
