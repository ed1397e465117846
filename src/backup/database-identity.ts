import { z } from "zod/v3";

/**
 * Which database this is, beyond its URL (which changes with poolers and DNS): the cluster's system
 * identifier (null when the role may not read it), the database's name and OID. A restore compares
 * its target's with the backup's source's, so it never lands on the source by accident.
 */
export const databaseIdentitySchema = z.object({
  systemIdentifier: z.string().nullable(),
  database: z.string(),
  oid: z.number(),
});
export type DatabaseIdentity = z.infer<typeof databaseIdentitySchema>;

interface Queryable {
  query<R extends object>(text: string): Promise<{ rows: R[] }>;
}

/** Safe inside a read-only transaction: the privilege is checked before the function is called. */
export async function readIdentity(client: Queryable): Promise<DatabaseIdentity> {
  const { rows } = await client.query<{ database: string; oid: string; allowed: boolean }>(
    `select current_database() as database,
            (select oid from pg_database where datname = current_database())::text as oid,
            has_function_privilege('pg_control_system()', 'execute') as allowed`,
  );
  const row = rows[0];
  // Asked only when allowed: a refused call would abort the dump's snapshot transaction.
  const system = row?.allowed
    ? ((await client.query<{ id: string }>("select system_identifier::text as id from pg_control_system()"))
        .rows[0]?.id ?? null)
    : null;
  return { systemIdentifier: system, database: row?.database ?? "", oid: Number(row?.oid ?? 0) };
}

/** The same database, as far as both sides can tell. */
export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
  if (a.systemIdentifier && b.systemIdentifier)
    return a.systemIdentifier === b.systemIdentifier && a.oid === b.oid;
  return false;
}
