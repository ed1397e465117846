import { connectTarget } from "./catalog-snapshot.js";
import { applicationName } from "./connection.js";
import type { Target } from "./target.js";

export interface OrphanSession {
  pid: number;
  applicationName: string;
  backendStart: string;
}

export interface OrphanSessionReport {
  ended: OrphanSession[];
  /** Sessions that could not be ended, and why (usually: not allowed). */
  left: (OrphanSession & { why: string })[];
}

/**
 * Ends the server sessions of runs that died (found by their application_name, dbbackup:<job id>),
 * so their locks stop blocking migrations. Allowed for the role that opened them (the same URL's
 * user), a superuser, or a member of pg_signal_backend. On a connection of its own: a refusal must
 * not abort the backup's snapshot transaction.
 */
export async function endOrphanSessions(
  target: Target,
  jobIds: readonly string[],
): Promise<OrphanSessionReport> {
  const report: OrphanSessionReport = { ended: [], left: [] };
  if (jobIds.length === 0) return report;
  const client = await connectTarget(target);
  try {
    const found = await client.query<{ pid: number; app: string; started: Date | null }>(
      `select pid, application_name as app, backend_start as started
         from pg_stat_activity where application_name = any($1) and pid <> pg_backend_pid()`,
      [jobIds.map((id) => applicationName(id))],
    );
    for (const row of found.rows) {
      const session = {
        pid: row.pid,
        applicationName: row.app,
        backendStart: row.started ? row.started.toISOString() : "",
      };
      try {
        const r = await client.query<{ ok: boolean }>("select pg_terminate_backend($1) as ok", [row.pid]);
        if (r.rows[0]?.ok) report.ended.push(session);
        else report.left.push({ ...session, why: "it was already ending" });
      } catch (error) {
        report.left.push({ ...session, why: (error as Error).message });
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
  return report;
}
