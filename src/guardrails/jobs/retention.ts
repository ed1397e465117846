import { type GuardrailContext, type JobReport, reporter } from "../context.js";

/**
 * The retention rules (`dbbackup prune`), on a schedule and after each backup: what went is posted,
 * one line per backup, and audited. Pinned, in-use and newest-verified backups are never touched.
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
  if (deleted.length > 0) {
    await post({
      kind: "pruned",
      trigger,
      deleted: deleted.map((b) => ({ id: b.id, env: b.env, bytes: b.bytes, reason: b.reason })),
      freedBytes: result.freedBytes,
    });
  }
  return report;
}
