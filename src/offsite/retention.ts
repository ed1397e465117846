import { DeleteObjectCommand, GetObjectRetentionCommand, type S3Client } from "@aws-sdk/client-s3";
import { kindOf, ordinal, type RetentionKind, type RetentionRules } from "../backup/retention.js";
import { formatUtc } from "../format.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import type { Pin } from "../state/annotations.js";
import type { OffsiteIndex } from "./index-file.js";
import { INDEX_NAME, keyFor } from "./s3-client.js";
import { explainS3Error } from "./s3-errors.js";

/**
 * Off-site retention, as local retention but with its own counts (the bucket keeps more): per env,
 * keep the newest `keepOnDemand` on-demand copies and the newest `keepPreUpgrade` pre-upgrade ones.
 * Never delete a copy of a pinned backup, or the env's newest proven copy.
 *
 * `planOffsiteRetention` decides (pure, table-tested); `executeOffsiteRetention` deletes, each copy's
 * index first (so it stops being a copy at once), then its files. A delete the bucket refuses (Object
 * Lock, or credentials that may not delete) is reported as such and left in place: not an error.
 */

/** Why: `recent` within the count, `expired` beyond it; the others are the never-delete rules. */
export type OffsiteRule = "pinned" | "recent" | "newest_proven" | "expired";

export interface OffsiteDecision {
  id: string;
  env: string;
  label: string | null;
  createdAt: string;
  action: "keep" | "delete";
  rule: OffsiteRule;
  reason: string;
  /** Encrypted bytes of its objects. */
  bytes: number;
  /** Its file objects (the index not included): deleted after the index. */
  files: string[];
}

/** What happened to a planned delete: gone, held by the bucket's lock, refused by the credentials, … */
export type OffsiteOutcome = "deleted" | "retained" | "refused" | "spared" | "failed";

export interface OffsiteDeletion {
  id: string;
  outcome: OffsiteOutcome;
  /** Why it is still there (every outcome but deleted). */
  note?: string;
}

const newestFirst = (a: OffsiteIndex, b: OffsiteIndex) =>
  b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

function pinReason(pin: Pin): string {
  return `pinned by ${pin.by}${pin.reason ? `: "${pin.reason}"` : ""}`;
}

/**
 * Decides, for every copy in the bucket, keep or delete and why. Pure. A copy is kept while fewer than
 * N copies of its kind (same env, pre-upgrade or on-demand) are newer than it; pinned copies count
 * among those N, as they do locally. Output order: env, then newest first.
 */
export function planOffsiteRetention(
  copies: readonly OffsiteIndex[],
  rules: RetentionRules,
  pins: ReadonlyMap<string, Pin>,
): OffsiteDecision[] {
  const groups = new Map<string, OffsiteIndex[]>();
  for (const c of copies) groups.set(c.env, [...(groups.get(c.env) ?? []), c]);
  const decisions: OffsiteDecision[] = [];
  for (const env of [...groups.keys()].sort()) {
    const members = (groups.get(env) ?? []).sort(newestFirst);
    const newestProven = members.find((c) => c.provenAt !== "");
    const newer: Record<RetentionKind, number> = { "on-demand": 0, "pre-upgrade": 0 };
    for (const c of members) {
      const kind = kindOf(c.label);
      const keep = kind === "pre-upgrade" ? rules.keepPreUpgrade : rules.keepOnDemand;
      const before = newer[kind]++;
      const pin = pins.get(c.id);
      const decide = (action: OffsiteDecision["action"], rule: OffsiteRule, reason: string) =>
        decisions.push({
          id: c.id,
          env: c.env,
          label: c.label,
          createdAt: c.createdAt,
          action,
          rule,
          reason,
          bytes: c.files.reduce((n, f) => n + f.bytes, 0),
          files: c.files.map((f) => f.key),
        });
      if (pin) decide("keep", "pinned", pinReason(pin));
      else if (before < keep)
        decide("keep", "recent", `${ordinal(before + 1)} of the last ${keep} ${kind} copies`);
      else if (c === newestProven) decide("keep", "newest_proven", `the newest ${env} copy proven off-site`);
      else
        decide(
          "delete",
          "expired",
          keep === 0
            ? `${kind} copies are not kept off-site (the count is 0)`
            : `older than the last ${keep} ${kind} copies`,
        );
    }
  }
  return decisions;
}

export interface OffsiteTarget {
  client: S3Client;
  settings: OffsiteSettings;
  signal?: AbortSignal | undefined;
}

export interface OffsiteRunOptions {
  /** The pin a backup has now, read just before its copy goes: a `keep` since the plan spares it. */
  pinnedNow?: (id: string) => Promise<Pin | undefined>;
}

/**
 * Deletes what the plan says to delete, oldest first. Stops between copies when the signal fires
 * (`stopped`); a copy is never left half deleted by that, since its index went first.
 */
export async function executeOffsiteRetention(
  target: OffsiteTarget,
  plan: readonly OffsiteDecision[],
  options: OffsiteRunOptions = {},
): Promise<{ results: OffsiteDeletion[]; stopped: boolean }> {
  const results: OffsiteDeletion[] = [];
  const doomed = plan
    .filter((d) => d.action === "delete")
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  for (const d of doomed) {
    if (target.signal?.aborted) return { results, stopped: true };
    const pin = await options.pinnedNow?.(d.id);
    if (pin) {
      results.push({ id: d.id, outcome: "spared", note: `${pinReason(pin)} meanwhile` });
      continue;
    }
    results.push(await deleteCopy(target, d));
  }
  return { results, stopped: false };
}

/** Not cut short by the signal: Ctrl-C is honoured between copies, so no copy is left half deleted. */
function deleteObject(target: OffsiteTarget, key: string): Promise<unknown> {
  return target.client.send(new DeleteObjectCommand({ Bucket: target.settings.bucket, Key: key }));
}

/** The index first: once it is gone the copy is no longer listed, whatever happens to its files. */
export async function deleteCopy(
  target: OffsiteTarget,
  d: Pick<OffsiteDecision, "id" | "files">,
): Promise<OffsiteDeletion> {
  const indexKey = keyFor(target.settings, d.id, INDEX_NAME);
  try {
    await deleteObject(target, indexKey);
  } catch (error) {
    return { id: d.id, ...(await refusal(target, indexKey, error, `deleting the copy of ${d.id}`)) };
  }
  const left: string[] = [];
  let why = "";
  for (const key of d.files) {
    try {
      await deleteObject(target, key);
    } catch (error) {
      left.push(key);
      why ||= (await refusal(target, key, error, `deleting ${key}`)).note;
    }
  }
  if (left.length === 0) return { id: d.id, outcome: "deleted" };
  return {
    id: d.id,
    outcome: "failed",
    note: `its index is gone, so it is no longer listed as a copy, but ${left.length} of its objects stayed (${why}): ${left.join(", ")}. Delete them by hand when they may go.`,
  };
}

function isAccessDenied(error: unknown): boolean {
  const e = (typeof error === "object" && error !== null ? error : {}) as {
    name?: string;
    Code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  return e.name === "AccessDenied" || e.Code === "AccessDenied" || e.$metadata?.httpStatusCode === 403;
}

/** Why a delete was refused: the bucket's lock (with its date), credentials that may not delete, or a failure. */
async function refusal(
  target: OffsiteTarget,
  key: string,
  error: unknown,
  doing: string,
): Promise<{ outcome: OffsiteOutcome; note: string }> {
  if (!isAccessDenied(error))
    return { outcome: "failed", note: explainS3Error(error, target.settings, doing).message };
  const until = await target.client
    .send(new GetObjectRetentionCommand({ Bucket: target.settings.bucket, Key: key }))
    .then((r) => r.Retention?.RetainUntilDate)
    .catch(() => undefined);
  if (until)
    return {
      outcome: "retained",
      note: `retained by the bucket's lock until ${formatUtc(new Date(until).toISOString())}`,
    };
  return {
    outcome: "refused",
    note: "the bot's credentials may not delete (as the README's no-delete policy intends); left in place",
  };
}
