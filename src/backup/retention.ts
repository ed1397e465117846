import type { Pin } from "../state/annotations.js";
import type { StageName } from "./manifest.js";
import { ADHOC_ENV } from "./target.js";

/**
 * Retention, as the runbook says: per environment, keep the last N on-demand backups and the last M
 * `pre-upgrade` ones. Never delete a pinned backup, one a restore test is reading, the newest
 * verified backup of an environment, or anything of an environment while a backup of it runs.
 *
 * `planRetention` decides (pure, table-tested); `findBackups` (backup-folders.ts) and `gatherFacts`
 * read the disk and the state; `executeRetention` (prune-run.ts) deletes, re-checking each backup
 * just before it goes.
 */

export const PRE_UPGRADE_LABEL = "pre-upgrade";

export interface RetentionRules {
  /** How many backups per env whose label is not "pre-upgrade" (none, "migration-42", …) to keep. */
  keepOnDemand: number;
  /** How many "pre-upgrade" backups per env to keep. */
  keepPreUpgrade: number;
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

/** 1 → "1st", 12 → "12th", 23 → "23rd". */
export function ordinal(n: number): string {
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
