import { readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type TaggedProcess, taggedProcesses } from "../../src/backup/child-lifetime.js";
import { describeOrphanSessions, endOrphanRuns } from "../../src/backup/orphan-sessions.js";
import { resolveTarget } from "../../src/backup/target.js";
import { cleanStaleInProgress } from "../../src/backup/work-dirs.js";
import type { Config } from "../../src/config.js";
import { sweepScratchServers } from "../../src/restore/scratch-sweep.js";
import { type LockRecord, orphansDoc, sweepDeadLocks } from "../../src/state/locks.js";
import { stateFor } from "../../src/state/open.js";

/** What a dead instance left, cleaned up. */
export interface RecoveryReport {
  /** Hidden in-progress folders of runs that died. */
  inProgress: string[];
  /** Locks held by instances that died (their runs' server sessions are ended at the next backup). */
  locks: LockRecord[];
  /** pg_dump, pg_restore or postgres processes a dead run left (where they could not die with it). */
  processes: TaggedProcess[];
  /** Scratch server folders of restore tests that died. */
  scratchServers: string[];
  /** Password files an earlier dbbackup version left in the temp folder. */
  passfiles: string[];
  /** With `endSessions`: what became of the server sessions of runs that died (one line each). */
  sessions: string[];
}

export interface RecoveryOptions {
  /**
   * Also end the server sessions dead runs left (the bot, periodically): it connects to each env
   * that has some. A backup does this for its own env anyway, so the other verbs leave it out.
   */
  endSessions?: boolean;
}

/**
 * Cleans up after instances of this backups folder that died (kill -9, a crash, a container gone):
 * only what belongs to an instance whose lease is over, never a live run's, on this host or another.
 * Run at the start of the verbs that write, and by the bot at start and then periodically.
 */
export async function recoverAfterDeadInstances(
  config: Config,
  options: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const state = stateFor(config);
  const processes: TaggedProcess[] = [];
  const verdicts = new Map<string, boolean>();
  for (const p of taggedProcesses(state)) {
    if (p.instance === state.instance().id) continue;
    let dead = verdicts.get(p.instance);
    if (dead === undefined) {
      dead = (await state.liveness(p.instance)).state === "dead";
      verdicts.set(p.instance, dead);
    }
    if (!dead) continue;
    try {
      process.kill(p.pid, "SIGKILL");
      processes.push(p);
    } catch {
      // gone meanwhile
    }
  }
  const inProgress = (await cleanStaleInProgress(config.backupsDir, state)).removed;
  const locks = await sweepDeadLocks(state);
  const scratchServers = await sweepScratchServers(state);
  const passfiles = removeLegacyPassfiles();
  await state.sweepClaims();
  for (const { id, liveness } of await state.instances()) {
    if (liveness.state === "dead") await state.forgetInstance(id);
  }
  const sessions = options.endSessions ? await endDeadRunsSessions(config) : [];
  return { inProgress, locks, processes, scratchServers, passfiles, sessions };
}

/**
 * A run killed while its pg_dump waited on a lock leaves its server session waiting too (the server
 * only notices the dead client when it next writes to it): it is ended here, env by env.
 */
async function endDeadRunsSessions(config: Config): Promise<string[]> {
  const state = stateFor(config);
  const envs = new Set(
    (await state.read(orphansDoc)).runs
      .filter((r) => r.lock.startsWith("backup:"))
      .map((r) => r.lock.slice("backup:".length)),
  );
  const lines: string[] = [];
  for (const env of envs) {
    try {
      lines.push(...describeOrphanSessions(await endOrphanRuns(state, resolveTarget(config, { env }))));
    } catch {
      // Unreachable, or no longer configured: tried again next time, and by the env's next backup.
    }
  }
  return lines;
}

/** dbbackup up to 0.1 gave pg_dump its password in /tmp/dbbackup-pass-*; a kill left them there. */
function removeLegacyPassfiles(tmp = os.tmpdir()): string[] {
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith("dbbackup-pass-"));
  } catch {
    return [];
  }
  for (const name of names) rmSync(path.join(tmp, name), { recursive: true, force: true });
  return names.map((n) => path.join(tmp, n));
}

/** One line per thing cleaned up, for the terminal or the bot's log; empty when there was nothing. */
export function describeRecovery(report: RecoveryReport): string[] {
  const lines: string[] = [];
  for (const dir of report.inProgress) lines.push(`removed the unfinished folder of a run that died: ${dir}`);
  for (const lock of report.locks)
    lines.push(
      `released the ${lock.name} lock of a run that died (${lock.what}, pid ${lock.pid} on ${lock.host})`,
    );
  for (const p of report.processes) lines.push(`stopped ${p.command} (pid ${p.pid}) left by a run that died`);
  for (const dir of report.scratchServers)
    lines.push(`removed the scratch server of a restore test that died: ${dir}`);
  for (const file of report.passfiles)
    lines.push(`removed a password file an earlier dbbackup left: ${file}`);
  lines.push(...report.sessions);
  return lines;
}
