import type { PruneResult } from "../../backup/prune.js";
import { type GuardrailContext, type JobReport, reporter } from "../context.js";
import type { Notice } from "../notices.js";

/**
 * The retention rules (`dbbackup prune`), on a schedule and after each backup: what went is posted,
 * one line per backup, and audited. Pinned, in-use and newest-verified backups are never touched.
 * With off-site copies set up, the bucket is pruned by its own counts in the same run.
 */
export async function runRetention(
  ctx: GuardrailContext,
  trigger: "schedule" | "after-backup" = "schedule",
): Promise<JobReport> {
  const { report, post, problem } = reporter(ctx, "retention");
  const { pruneBackups } = await import("../../backup/prune.js");
  // prune audits what it deletes; who asked is the trigger.
  const result = await pruneBackups(
    { config: ctx.config, requestedBy: trigger, via: "schedule", signal: ctx.signal },
    { dryRun: false },
  );
  const deleted = result.backups.filter((b) => b.outcome === "deleted");
  for (const b of result.backups.filter((i) => i.outcome === "failed"))
    problem(`${b.id}: could not delete: ${b.note}`);
  const offsite = offsitePart(result, problem);
  if (deleted.length > 0 || (offsite?.deleted.length ?? 0) > 0) {
    await post({
      kind: "pruned",
      trigger,
      deleted: deleted.map((b) => ({ id: b.id, env: b.env, bytes: b.bytes, reason: b.reason })),
      freedBytes: result.freedBytes,
      ...(offsite ? { offsite } : {}),
    });
  }
  return report;
}

/** The bucket's part of the notice (undefined: nothing to say of it); its failures are problems of the run. */
function offsitePart(
  result: PruneResult,
  problem: (text: string) => void,
): Extract<Notice, { kind: "pruned" }>["offsite"] {
  const off = result.offsite;
  if (!off) return undefined;
  if (off.error) problem(`off-site copies were not pruned: ${off.error.message} ${off.error.hint}`);
  for (const c of off.copies.filter((x) => x.outcome === "failed"))
    problem(`${c.id} (off-site): could not delete: ${c.note}`);
  const deleted = off.copies.filter((c) => c.outcome === "deleted");
  const left = off.copies.filter((c) => c.outcome === "retained" || c.outcome === "refused");
  if (deleted.length === 0 && left.length === 0) return undefined;
  return {
    deleted: deleted.map((c) => ({ id: c.id, env: c.env, bytes: c.bytes, reason: c.reason })),
    freedBytes: off.freedBytes,
    left: left.map((c) => ({ id: c.id, note: c.note ?? "" })),
  };
}
