import { orphansDoc } from "../state/locks.js";
import type { StateStore } from "../state/store.js";
import { connectTarget } from "./catalog-snapshot.js";
import { applicationName } from "./connection.js";
import { envLockName } from "./env-lock.js";
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

/** One line per session, for the terminal, the run's log and the bot's log. */
export function describeOrphanSessions(report: OrphanSessionReport): string[] {
  return [
    ...report.ended.map(
      (s) =>
        `Ended a session a killed run left on the server (pid ${s.pid}, ${s.applicationName}, since ${s.backendStart.slice(11, 19)} UTC).`,
    ),
    ...report.left.map(
      (s) =>
        `A killed run's session is still on the server (pid ${s.pid}, ${s.applicationName}) and could not be ended (${s.why}); as a superuser or a member of pg_signal_backend: select pg_terminate_backend(${s.pid});`,
    ),
  ];
}

/**
 * The sessions of `env`'s runs that died holding its lock (recorded in the state when their lock was
 * taken over or swept), ended now. A run is forgotten once none of its sessions is left; one that
 * could not be ended is tried (and reported) again next time. Throws when the server can't be reached.
 */
export async function endOrphanRuns(store: StateStore, target: Target): Promise<OrphanSessionReport> {
  const lockName = envLockName(target.env);
  const runs = (await store.read(orphansDoc)).runs.filter((r) => r.lock === lockName);
  if (runs.length === 0) return { ended: [], left: [] };
  const report = await endOrphanSessions(
    target,
    runs.map((r) => r.jobId),
  );
  const stillThere = new Set(report.left.map((s) => s.applicationName));
  const done = new Set(runs.filter((r) => !stillThere.has(applicationName(r.jobId))).map((r) => r.jobId));
  if (done.size > 0) {
    await store.transact(async (tx) => {
      const doc = await tx.read(orphansDoc);
      await tx.write(orphansDoc, { runs: doc.runs.filter((r) => !done.has(r.jobId)) });
    });
  }
  return report;
}
