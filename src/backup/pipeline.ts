import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config.js";
import { DbBackupError, isDbBackupError } from "../errors.js";
import { redactText } from "../redact.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { work } from "./backup-work.js";
import { acquireEnvLock, type HeldLock } from "./env-lock.js";
import type { BackupListener } from "./events.js";
import { backupId, checkLabel } from "./ids.js";
import type { Manifest } from "./manifest.js";
import { describeOrphanSessions, endOrphanRuns } from "./orphan-sessions.js";
import { RunLog } from "./run-log.js";
import { recordFiled } from "./shared-catalog.js";
import { resolveTarget, type Target } from "./target.js";
import {
  cleanStaleInProgress,
  createInProgressDir,
  LOGS_DIR,
  logPath,
  releaseInProgressDir,
} from "./work-dirs.js";

export interface BackupRequest {
  config: Config;
  env?: string | undefined;
  url?: string | undefined;
  label?: string | undefined;
  requestedBy: string;
  /** The run's short id (the bot's job id); one is made when not given. Its sessions are dbbackup:<jobId>. */
  jobId?: string | undefined;
  signal?: AbortSignal | undefined;
  onEvent?: BackupListener | undefined;
  now?: () => Date;
}

export interface BackupOutcome {
  id: string;
  dir: string;
  manifest: Manifest;
  target: Target;
}

/** A failed run's error, with where its log is. */
export class BackupFailedError extends DbBackupError {
  readonly logFile: string;
  constructor(cause: DbBackupError, logFile: string) {
    super(cause.code, cause.message, cause.hint, { cause });
    this.logFile = logFile;
  }
}

function pickId(root: string, when: Date, env: string, label: string | undefined): string {
  // One backup of an env per second, whatever their labels (in place or in progress): ids then
  // sort in the order the backups were taken, which retention counts by. Two runs within one
  // second get ids one second apart.
  const names = readdirSync(root).map((name) => name.replace(/^\.inprogress-/, ""));
  for (let i = 0; i < 120; i++) {
    const at = new Date(when.getTime() + i * 1000);
    const taken = backupId(at, env);
    if (!names.some((name) => name === taken || name.startsWith(`${taken}_`)))
      return backupId(at, env, label);
  }
  throw new DbBackupError(
    "id_taken",
    `No free backup id near ${when.toISOString()}.`,
    "Run again in a minute.",
  );
}

/** The runbook's pipeline: snapshot, dumps and companions at once, stages 1–2, then into place. */
export async function runBackup(request: BackupRequest): Promise<BackupOutcome> {
  const emit: BackupListener = request.onEvent ?? (() => {});
  const label = request.label !== undefined ? checkLabel(request.label) : undefined;
  const target = resolveTarget(request.config, { env: request.env, url: request.url });
  const root = request.config.backupsDir;
  mkdirSync(path.join(root, LOGS_DIR), { recursive: true });
  const started = (request.now ?? (() => new Date()))();
  // The time reported is the wall time of the whole request: waiting for a lock and connecting included.
  const wallStart = performance.now();
  const id = pickId(root, started, target.env, label);
  announce(emit, id, target, label);

  const store = stateFor(request.config);
  store.holdLease("backup");
  const jobId = request.jobId ?? randomBytes(4).toString("hex");
  // Cancelled or killed while waiting for a dead holder's lease: nothing of ours exists yet.
  const lock = await lockEnv(store, request, target, { id, jobId }, emit);
  const log = new RunLog(logPath(root, id), [target.password]);
  let dir: string | undefined;
  // Our lease lapsed (the process stalled): another run may own the env now; stop, keep nothing.
  const leaseLost = new AbortController();
  const stopLeaseWatch = store.onLeaseLost(() => leaseLost.abort());
  try {
    await beforeWork({ request, target, root, store, lock, emit, log });
    dir = createInProgressDir(root, id, store);
    log.line(`backup ${id} of ${target.display} (${target.source}) for ${request.requestedBy}, run ${jobId}`);
    const manifest = await work({
      request,
      target,
      id,
      dir,
      log,
      emit,
      started,
      wallStart,
      label,
      store,
      jobId,
      leaseLost,
    });
    if (leaseLost.signal.aborted) throw leaseLostError(target.env);
    const finalDir = path.join(root, id);
    releaseInProgressDir(dir);
    await rename(dir, finalDir);
    dir = undefined;
    log.line(`done: ${finalDir}`);
    // Other hosts see it in `list`; the backup is whole here whether or not the record got through.
    await recordFiled(store, manifest, finalDir).catch((error: unknown) =>
      log.line(
        `not recorded in the shared catalog: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    return { id, dir: finalDir, manifest, target };
  } catch (error) {
    const clear = leaseLost.signal.aborted ? leaseLostError(target.env) : asDbBackupError(error, target);
    log.line(`FAILED [${clear.code}] ${clear.message} | ${clear.hint}`);
    if (error instanceof Error && !isDbBackupError(error) && error.stack) log.line(error.stack);
    if (dir) await rm(dir, { recursive: true, force: true });
    throw new BackupFailedError(clear, log.file);
  } finally {
    stopLeaseWatch();
    await log.close();
    await lock.release().catch(() => {});
  }
}

/** Tells the listener the run began, and what its target warned about. */
function announce(emit: BackupListener, id: string, target: Target, label: string | undefined): void {
  emit({
    type: "started",
    id,
    env: target.env,
    label: label ?? null,
    target: target.display,
    source: target.source,
  });
  for (const message of target.warnings) emit({ type: "warning", message });
}

/** Takes the env's lock, telling the listener while it waits for a holder that may have died. */
function lockEnv(
  store: StateStore,
  request: BackupRequest,
  target: Target,
  run: { id: string; jobId: string },
  emit: BackupListener,
): Promise<HeldLock> {
  return acquireEnvLock(
    store,
    { env: target.env, backupId: run.id, jobId: run.jobId, requestedBy: request.requestedBy },
    {
      ...(request.signal ? { signal: request.signal } : {}),
      onWait: ({ holder, liveness, expiresAt }) =>
        emit({
          type: "warning",
          message: `A ${target.env} backup (${holder.what}, pid ${holder.pid} on ${holder.host}) holds the ${target.env} lock but ${liveness.state === "silent" ? `hasn't renewed its lease for ${Math.round(liveness.silentMs / 1000)} s` : "can't be seen from here (another host or container)"}; waiting until ${expiresAt.slice(11, 19)} UTC: taken over then unless it renews.`,
        }),
    },
  );
}

/** Once locked, before the run's folder exists: stop if cancelled, then clear what dead runs left. */
async function beforeWork(run: {
  request: BackupRequest;
  target: Target;
  root: string;
  store: StateStore;
  lock: HeldLock;
  emit: BackupListener;
  log: RunLog;
}): Promise<void> {
  const { request, target, root, store, lock, emit, log } = run;
  if (request.signal?.aborted) {
    throw new DbBackupError(
      "cancelled",
      "The backup was cancelled.",
      "Nothing was kept; run it again when ready.",
    );
  }
  if (lock.tookOverFrom) {
    const gone = lock.tookOverFrom.record;
    emit({
      type: "warning",
      message: `Took over the ${target.env} lock of a run that died (${gone.what}, started by ${gone.requestedBy}; ${lock.tookOverFrom.why}).`,
    });
  }
  await endOrphans(store, target, emit, log);
  const stale = await cleanStaleInProgress(root, store);
  if (stale.removed.length > 0) emit({ type: "cleaned", paths: stale.removed });
}

/** A failure as the user sees it: ours as is, anything else as a bug, with the password redacted. */
function asDbBackupError(error: unknown, target: Target): DbBackupError {
  if (isDbBackupError(error)) return error;
  return new DbBackupError(
    "internal_error",
    `dbbackup failed unexpectedly: ${redactText(error instanceof Error ? error.message : String(error), [target.password])}`,
    "This is a bug in dbbackup; the log has the details. Please report it.",
    { cause: error },
  );
}

function leaseLostError(env: string): DbBackupError {
  return new DbBackupError(
    "lease_lost",
    `This run stalled past its lease, so another run may have taken over the ${env} lock; it stopped and kept nothing.`,
    "Run it again. If it repeats, the machine is overloaded or asleep (a laptop lid?); DBBACKUP_LEASE sets the lease.",
  );
}

/** Sessions a killed run of this env left on the server: ended now, so their locks stop blocking migrations. */
async function endOrphans(
  store: StateStore,
  target: Target,
  emit: BackupListener,
  log: RunLog,
): Promise<void> {
  let report: Awaited<ReturnType<typeof endOrphanRuns>>;
  try {
    report = await endOrphanRuns(store, target);
  } catch {
    return; // can't connect: the backup's own connect step says why, in full
  }
  for (const message of describeOrphanSessions(report)) {
    emit({ type: "warning", message });
    log.line(message);
  }
}
