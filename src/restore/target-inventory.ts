import { connectTarget } from "../backup/catalog-snapshot.js";
import { type DatabaseIdentity, readIdentity } from "../backup/database-identity.js";
import type { Target } from "../backup/target.js";
import { canPauseTriggers, readShippedObjects } from "./shipped-objects.js";
import type { ShippedObjects } from "./shipped-overlap.js";

/**
 * Schemas a fresh Supabase project ships with (and Postgres' own): objects in them don't make a
 * target "not empty". Anything else, `public` included, is the user's.
 */
export const SHIPPED_SCHEMAS = [
  "pg_catalog",
  "information_schema",
  "pg_toast",
  "auth",
  "storage",
  "extensions",
  "graphql",
  "graphql_public",
  "realtime",
  "_realtime",
  "supabase_functions",
  "supabase_migrations",
  "vault",
  "pgsodium",
  "pgsodium_masks",
  "pgbouncer",
  "net",
  "cron",
  "_analytics",
] as const;

/** The shipped schemas a platform fills (Postgres' own are never in a dump). */
export const PLATFORM_SCHEMAS = SHIPPED_SCHEMAS.filter(
  (s) => s !== "pg_catalog" && s !== "information_schema" && s !== "pg_toast",
);

/** What a restore needs to know about its target before it touches it. */
export interface TargetInventory {
  identity: DatabaseIdentity;
  serverVersion: string;
  serverMajor: number;
  /** The user's objects ("table public.orders"), outside the shipped schemas and extensions. */
  userObjects: string[];
  roles: string[];
  /** Extensions that can be created there, and those that are. */
  availableExtensions: string[];
  installedExtensions: string[];
  /** What the platform (a Supabase project) already has in the shipped schemas. */
  shipped: ShippedObjects;
  /** This login may pause triggers and foreign keys (session_replication_role) while rows load. */
  canPauseTriggers: boolean;
}

const USER_OBJECTS = `
  select kind || ' ' || quote_ident(nspname) || '.' || quote_ident(name) as object from (
    select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view'
             when 'm' then 'materialized view' when 'S' then 'sequence' when 'f' then 'foreign table' end as kind,
           n.nspname, c.relname as name, c.oid, 'pg_class'::regclass as cls
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
    union all
    select 'function', n.nspname, p.proname, p.oid, 'pg_proc'::regclass
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    union all
    select 'type', n.nspname, t.typname, t.oid, 'pg_type'::regclass
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where t.typtype in ('c', 'e', 'd', 'r') and not exists (select 1 from pg_class c where c.oid = t.typrelid and c.relkind <> 'c')
  ) o
  where nspname <> all($1::text[]) and nspname not like 'pg\\_temp%' and nspname not like 'pg\\_toast%'
    and not exists (select 1 from pg_depend d where d.classid = o.cls and d.objid = o.oid and d.deptype = 'e')
  order by 1
  limit 200`;

/** Connects to the target and reads what a restore needs to decide; changes nothing. */
export async function inspectTarget(target: Target): Promise<TargetInventory> {
  const client = await connectTarget(target);
  try {
    const identity = await readIdentity(client);
    const version = await client.query<{ version: string; num: string }>(
      "select current_setting('server_version') as version, current_setting('server_version_num') as num",
    );
    const objects = await client.query<{ object: string }>(USER_OBJECTS, [[...SHIPPED_SCHEMAS]]);
    const roles = await client.query<{ rolname: string }>("select rolname from pg_roles order by 1");
    const available = await client.query<{ name: string; installed: boolean }>(
      "select name, installed_version is not null as installed from pg_available_extensions order by 1",
    );
    const serverMajor = Math.floor(Number(version.rows[0]?.num ?? 0) / 10_000);
    return {
      identity,
      serverVersion: version.rows[0]?.version ?? "",
      serverMajor,
      userObjects: objects.rows.map((r) => r.object),
      roles: roles.rows.map((r) => r.rolname),
      availableExtensions: available.rows.map((r) => r.name),
      installedExtensions: available.rows.filter((r) => r.installed).map((r) => r.name),
      shipped: await readShippedObjects(client, PLATFORM_SCHEMAS),
      canPauseTriggers: await canPauseTriggers(client, serverMajor),
    };
  } finally {
    // Not waited for: the server's goodbye (its backend exiting) takes a while and decides nothing.
    void client.end().catch(() => {});
  }
}
