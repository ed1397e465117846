import { lstat, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { type Annotation, annotationsDoc, forgetAnnotations, readAnnotations } from "../state/annotations.js";
import { listLocks, locksDoc } from "../state/locks.js";
import type { StateStore, StateTx } from "../state/store.js";
import { backupFacts } from "./backup-facts.js";
import { envLockName } from "./env-lock.js";
import { parseBackupId } from "./ids.js";
import {
  MANIFEST_FILE,
  type Manifest,
  manifestSchema,
  parseManifestText,
  type StageName,
} from "./manifest.js";
import { ADHOC_ENV } from "./target.js";

/**
 * Retention, as the runbook says: per environment, keep the last N on-demand backups and the last M
 * `pre-upgrade` ones. Never delete a pinned backup, one a restore test is reading, the newest
 * verified backup of an environment, or anything of an environment while a backup of it runs.
 *
 * `planRetention` decides (pure, table-tested); `findBackups` and `gatherFacts` read the disk;
 * `executeRetention` deletes, re-checking each backup just before it goes.
 */

export const PRE_UPGRADE_LABEL = "pre-upgrade";

export interface RetentionRules {
  /** How many backups per env whose label is not "pre-upgrade" (none, "migration-42", …) to keep. */
  keepOnDemand: number;
  /** How many "pre-upgrade" backups per env to keep. */
  keepPreUpgrade: number;
}

export interface Pin {
  reason: string;
  by: string;
  at: string;
}

/** What retention needs from a backup's manifest. */
export interface RetentionBackup {
  id: string;
  env: string;
  label: string | null;
  /** The masked URL: adhoc (`--url`) backups of different databases are counted apart. */
  target: string;
  stage: StageName | null;
  lastVerify?: { ok: boolean; at: string };
  restoreTest?: { ok: boolean; at: string };
  pin?: Pin;
}

export interface RunningBackup {
  id: string;
  requestedBy: string;
  startedAt: string;
}

export interface RetentionFacts {
  /** Envs with a backup running now (live env locks), by env name. */
  running: ReadonlyMap<string, RunningBackup>;
  /** Ids of backups a live restore test is reading. */
  inUse: ReadonlySet<string>;
}

/** Why: `recent` within the count, `expired` beyond it; the others are the never-delete rules. */
export type RetentionRule = "running" | "in_use" | "pinned" | "recent" | "newest_verified" | "expired";

export interface RetentionDecision {
  id: string;
  env: string;
  label: string | null;
  action: "keep" | "delete";
  rule: RetentionRule;
  reason: string;
}

export type RetentionKind = "on-demand" | "pre-upgrade";

export function kindOf(label: string | null): RetentionKind {
  return label === PRE_UPGRADE_LABEL ? "pre-upgrade" : "on-demand";
}

/** Why a backup can't be trusted for a restore, or undefined when it can (stage 2 or 3, no later failure). */
export function unusableBecause(b: RetentionBackup): string | undefined {
  if (b.stage === null) return "it never passed verification";
  if (b.stage === "dumped") return "it never passed stage 2 (readable)";
  if (b.lastVerify && !b.lastVerify.ok) return `its re-verify failed (${b.lastVerify.at.slice(0, 10)})`;
  if (b.restoreTest && !b.restoreTest.ok) return `its restore test failed (${b.restoreTest.at.slice(0, 10)})`;
  return undefined;
}

/** Counting happens per env; adhoc (`--url`) backups per database, since each may be a different one. */
function groupOf(b: RetentionBackup): string {
  return b.env === ADHOC_ENV ? `${ADHOC_ENV} ${b.target}` : b.env;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix =
    tens >= 11 && tens <= 13 ? "th" : n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th";
  return `${n}${suffix}`;
}

function newestFirst(a: RetentionBackup, b: RetentionBackup): number {
  return b.id.localeCompare(a.id);
}

/**
 * Decides, for every backup given, keep or delete and why. Pure.
 *
 * Counting: a backup is kept while fewer than N usable backups of its kind (same env, pre-upgrade or
 * on-demand) are newer than it. So the last N usable backups stay, and a failed backup never takes a
 * good one's place: it stays until N good ones newer than it exist.
 *
 * Output order: env, then newest first (as `list` shows them).
 */
export function planRetention(
  backups: readonly RetentionBackup[],
  rules: RetentionRules,
  facts: RetentionFacts,
): RetentionDecision[] {
  const groups = new Map<string, RetentionBackup[]>();
  for (const b of backups) {
    const key = groupOf(b);
    const list = groups.get(key) ?? [];
    list.push(b);
    groups.set(key, list);
  }
  const decisions = new Map<string, RetentionDecision>();
  for (const members of groups.values()) {
    members.sort(newestFirst);
    const newestUsable = members.find((b) => unusableBecause(b) === undefined);
    const usableNewer: Record<RetentionKind, number> = { "on-demand": 0, "pre-upgrade": 0 };
    for (const b of members) {
      const kind = kindOf(b.label);
      const keep = kind === "pre-upgrade" ? rules.keepPreUpgrade : rules.keepOnDemand;
      const unusable = unusableBecause(b);
      const newer = usableNewer[kind];
      if (unusable === undefined) usableNewer[kind]++;
      const of = b.env === ADHOC_ENV ? ` of this database` : "";
      const decide = (action: RetentionDecision["action"], rule: RetentionRule, reason: string) =>
        decisions.set(b.id, { id: b.id, env: b.env, label: b.label, action, rule, reason });

      const running = facts.running.get(b.env);
      if (running) {
        decide(
          "keep",
          "running",
          `a ${b.env} backup is running (${running.id}, started by ${running.requestedBy}): nothing of ${b.env} is touched meanwhile`,
        );
      } else if (facts.inUse.has(b.id)) {
        decide("keep", "in_use", "a restore test is reading it");
      } else if (b.pin) {
        decide("keep", "pinned", `pinned by ${b.pin.by}${b.pin.reason ? `: "${b.pin.reason}"` : ""}`);
      } else if (newer < keep) {
        decide(
          "keep",
          "recent",
          unusable === undefined
            ? `${ordinal(newer + 1)} of the last ${keep} ${kind} backups${of}`
            : `${unusable}; kept until ${keep} newer good ${kind} backups${of} exist (${newer} so far)`,
        );
      } else if (b === newestUsable) {
        decide("keep", "newest_verified", `the newest ${b.env} backup${of} verified to stage 2 or 3`);
      } else {
        decide(
          "delete",
          "expired",
          unusable === undefined
            ? keep === 0
              ? `${kind} backups are not kept (the count is 0)`
              : `older than the last ${keep} ${kind} backups${of}`
            : keep === 0
              ? `${unusable}, and ${kind} backups are not kept (the count is 0)`
              : `${unusable}, and ${newer} newer good ${kind} backups${of} are kept`,
        );
      }
    }
  }
  return [...backups]
    .sort((a, b) => (a.env === b.env ? newestFirst(a, b) : a.env.localeCompare(b.env)))
    .flatMap((b) => {
      const d = decisions.get(b.id);
      return d ? [d] : [];
    });
}

// ---------------------------------------------------------------------------------------------
// Reading the disk

export interface FoundBackup extends RetentionBackup {
  dir: string;
  totalBytes: number;
}

/** Something in the backups folder that is not a dbbackup backup: never touched, only reported. */
export interface IgnoredEntry {
  name: string;
  reason: string;
}

export interface FoundBackups {
  backups: FoundBackup[];
  ignored: IgnoredEntry[];
}

/** Where a folder being deleted goes first, so nothing half-deleted ever looks like a backup. */
export const PRUNING_PREFIX = ".pruning-";

/** A backup as retention sees it: its manifest, with pins and results from the state laid over it. */
export function toRetentionBackup(m: Manifest, annotation: Annotation | undefined): RetentionBackup {
  const facts = backupFacts(m, annotation);
  return {
    id: m.id,
    env: m.env,
    label: m.label,
    target: m.target,
    stage: facts.stage,
    ...(facts.lastVerify ? { lastVerify: { ok: facts.lastVerify.ok, at: facts.lastVerify.at } } : {}),
    ...(facts.restoreTest ? { restoreTest: { ok: facts.restoreTest.ok, at: facts.restoreTest.at } } : {}),
    ...(facts.pin ? { pin: facts.pin } : {}),
  };
}

/**
 * The manifest of a folder, if it is a dbbackup backup: a real folder (not a link), a manifest.json
 * that parses with the manifest schema, and whose id, env and label are the folder's name.
 */
export async function readBackupFolder(
  root: string,
  name: string,
): Promise<{ manifest: Manifest } | { reason: string }> {
  const parsed = parseBackupId(name);
  if (!parsed) return { reason: "the name is not a backup id (YYYYMMDD_HHMMSS_env[_label])" };
  const dir = path.join(root, name);
  try {
    const stats = await lstat(dir);
    if (stats.isSymbolicLink()) return { reason: "a symbolic link, not a backup folder" };
    if (!stats.isDirectory()) return { reason: "not a folder" };
  } catch {
    return { reason: "gone" };
  }
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return { reason: "no manifest.json" };
  }
  const result = parseManifestText(text, manifestSchema);
  if ("reason" in result) return result;
  const m = result.data;
  if (m.id !== name) return { reason: `manifest.json is for ${JSON.stringify(m.id)}, not this folder` };
  if (m.env !== parsed.env || m.label !== (parsed.label ?? null)) {
    return { reason: "manifest.json's env or label differ from the folder name" };
  }
  return { manifest: m };
}

/**
 * Every dbbackup backup under root (of one env, if given), and everything else that is there,
 * with why it is not a backup. Hidden entries (`.locks`, `.logs`, in-progress runs) are dbbackup's
 * own and not reported; folders named as another env's backups are out of scope and not reported.
 */
export async function findBackups(root: string, store: StateStore, env?: string): Promise<FoundBackups> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { backups: [], ignored: [] };
  }
  const annotations = await readAnnotations(store);
  const backups: FoundBackup[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    const parsed = parseBackupId(name);
    if (env !== undefined && parsed && parsed.env !== env) continue;
    const found = await readBackupFolder(root, name);
    if ("reason" in found) {
      ignored.push({ name, reason: found.reason });
      continue;
    }
    const m = found.manifest;
    backups.push({
      ...toRetentionBackup(m, annotations[name]),
      dir: path.join(root, name),
      totalBytes: m.totalBytes,
    });
  }
  return { backups, ignored };
}

/** Env locks of live runs (of the given envs), and the backups restore tests or verifies are reading now. */
export async function gatherFacts(store: StateStore, envs: Iterable<string>): Promise<RetentionFacts> {
  const wanted = new Set(envs);
  const running = new Map<string, RunningBackup>();
  const inUse = new Set<string>();
  for (const lock of await listLocks(store)) {
    if (lock.liveness.state === "dead") continue;
    if (lock.name.startsWith("backup:")) {
      const env = lock.name.slice("backup:".length);
      if (wanted.has(env))
        running.set(env, { id: lock.what, requestedBy: lock.requestedBy, startedAt: lock.startedAt });
    } else if (lock.name.startsWith("reading:")) {
      inUse.add(lock.what);
    }
  }
  return { running, inUse };
}

// ---------------------------------------------------------------------------------------------
// Deleting

export interface RetentionOutcome {
  deleted: string[];
  /** Planned for deletion but kept: what changed since the plan (a backup started, a pin, …). */
  spared: { id: string; reason: string }[];
  failed: { id: string; reason: string }[];
  /** Stopped early (Ctrl-C): the rest of the plan was not carried out. */
  stopped: boolean;
}

/**
 * Why a backup planned for deletion must stay after all, checked inside the transaction that moves it
 * out of sight: a backup of its env started, a restore test or verify is reading it, it was pinned.
 */
async function recheck(
  root: string,
  store: StateStore,
  tx: StateTx,
  d: RetentionDecision,
): Promise<string | undefined> {
  const { locks } = await tx.read(locksDoc);
  for (const lock of Object.values(locks)) {
    const concerns =
      lock.name === envLockName(d.env) || (lock.name.startsWith("reading:") && lock.what === d.id);
    if (!concerns || (await store.liveness(lock.instance)).state === "dead") continue;
    return lock.name.startsWith("backup:")
      ? `a ${d.env} backup started meanwhile (${lock.what}, ${lock.requestedBy}): nothing of ${d.env} is touched while it runs`
      : "a restore test or verify started reading it meanwhile";
  }
  const found = await readBackupFolder(root, d.id);
  if ("reason" in found) return `left alone: ${found.reason}`;
  const { backups } = await tx.read(annotationsDoc);
  const pin = backupFacts(found.manifest, backups[d.id]).pin;
  if (pin) return `pinned meanwhile by ${pin.by}`;
  return undefined;
}

/**
 * Deletes what the plan says to delete, oldest first. Each one, inside one state transaction, is
 * checked again (env lock, readers, pin) and renamed to a hidden `.pruning-<id>`; so a `keep` or a
 * restore test either came first and spares it, or comes after and finds it gone. The hidden folder
 * is then removed; an interrupted removal never leaves a half backup that `list` would show, and
 * leftovers are removed at the next prune.
 */
export async function executeRetention(
  root: string,
  store: StateStore,
  plan: readonly RetentionDecision[],
  signal?: AbortSignal,
): Promise<RetentionOutcome> {
  const outcome: RetentionOutcome = { deleted: [], spared: [], failed: [], stopped: false };
  await removeLeftovers(root);
  const doomed = plan.filter((d) => d.action === "delete").sort((a, b) => a.id.localeCompare(b.id));
  for (const d of doomed) {
    if (signal?.aborted) {
      outcome.stopped = true;
      break;
    }
    const trash = path.join(root, `${PRUNING_PREFIX}${d.id}`);
    const moved = await store.transact(
      async (tx): Promise<{ spared: string } | { failed: string } | "moved"> => {
        const why = await recheck(root, store, tx, d);
        if (why) return { spared: why };
        try {
          await rename(path.join(root, d.id), trash);
        } catch (error) {
          return { failed: (error as Error).message };
        }
        await forgetAnnotations(tx, [d.id]);
        return "moved";
      },
    );
    if (moved !== "moved") {
      if ("spared" in moved) outcome.spared.push({ id: d.id, reason: moved.spared });
      else outcome.failed.push({ id: d.id, reason: moved.failed });
      continue;
    }
    try {
      await rm(trash, { recursive: true });
      outcome.deleted.push(d.id);
    } catch (error) {
      // Out of sight already (hidden name, so never listed); the next prune finishes the job.
      outcome.failed.push({
        id: d.id,
        reason: `moved to ${trash} but not fully removed (the next prune retries): ${(error as Error).message}`,
      });
    }
  }
  return outcome;
}

async function removeLeftovers(root: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PRUNING_PREFIX) || !parseBackupId(name.slice(PRUNING_PREFIX.length))) continue;
    await rm(path.join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}
