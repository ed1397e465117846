import { type Drill, readDrills } from "../../state/drill-log.js";
import { GuardrailMemory } from "../../state/guardrail-memory.js";
import { stateFor } from "../../state/open.js";
import { type GuardrailContext, type JobReport, reporter, verifiedBackups } from "../context.js";

/** "2026 Q4" for an instant, in a time zone: quarters turn at local midnight. */
export function quarterOf(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "numeric",
  }).formatToParts(now);
  const year = parts.find((p) => p.type === "year")?.value ?? "";
  const month = Number(parts.find((p) => p.type === "month")?.value ?? "1");
  return `${year} Q${Math.ceil(month / 3)}`;
}

const WEEK = 7 * 86_400_000;

/**
 * Restore drills, per env with a verified backup: a reminder once each quarter unless a drill of that
 * env passed in the quarter already, and one (at most weekly) when none passed in `drillMaxAgeDays`.
 * The reminder names the last drill, whoever ran it and however it went.
 */
export async function runDrills(ctx: GuardrailContext): Promise<JobReport> {
  const { report, post } = reporter(ctx, "drills");
  const state = stateFor(ctx.config);
  const memory = new GuardrailMemory(state);
  const now = ctx.now();
  const quarter = quarterOf(now, ctx.settings.timeZone);
  // Only a drill of one of the backups folder's own backups counts (a copy's is logged, not credited).
  const drills = (await readDrills(state)).filter((d) => d.ofBackup !== false);
  const envs = new Set((await verifiedBackups(ctx.config)).map((b) => b.env));
  for (const env of [...envs].sort()) {
    const mine = drills.filter((d) => d.env === env);
    const last: Drill | null = mine.at(-1) ?? null;
    const lastPassed = mine.filter((d) => d.ok).at(-1);
    const passedThisQuarter =
      lastPassed !== undefined && quarterOf(new Date(lastPassed.at), ctx.settings.timeZone) === quarter;
    const maxAgeMs = ctx.settings.drillMaxAgeDays * 86_400_000;
    const overdue = !lastPassed || now.getTime() - new Date(lastPassed.at).getTime() > maxAgeMs;
    const quarterKey = `drill-quarter:${env}:${quarter}`;
    const overdueKey = `drill-overdue:${env}`;
    const lastOverdue = await memory.sentAt(overdueKey);
    let reason: "quarterly" | "overdue" | undefined;
    if (!passedThisQuarter && !(await memory.sentAt(quarterKey))) reason = "quarterly";
    else if (overdue && (!lastOverdue || now.getTime() - lastOverdue.getTime() >= WEEK)) reason = "overdue";
    if (!reason) continue;
    const said = await post({
      kind: "drill-due",
      env,
      reason,
      quarter,
      maxAgeDays: ctx.settings.drillMaxAgeDays,
      lastDrill: last,
    });
    if (!said) continue;
    await memory.remember(quarterKey, now);
    if (overdue) await memory.remember(overdueKey, now);
  }
  return report;
}
