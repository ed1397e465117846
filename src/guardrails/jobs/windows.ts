import type { BackupSummary } from "../../backup/catalog.js";
import { isDbBackupError } from "../../errors.js";
import { stateFor } from "../../state/open.js";
import { type MaintenanceWindow, type NagLevel, WindowStore } from "../../state/windows.js";
import {
  backupRef,
  type GuardrailContext,
  isPreUpgrade,
  type JobReport,
  reporter,
  verifiedBackups,
} from "../context.js";

/** The nag steps in order of urgency: each configured hour mark, then the start itself. */
export function nagLevels(nagHours: readonly number[]): { level: NagLevel; msBefore: number }[] {
  return [
    ...[...nagHours]
      .sort((a, b) => b - a)
      .map((h) => ({ level: `${h}h` as NagLevel, msBefore: h * 3_600_000 })),
    { level: "start", msBefore: 0 },
  ];
}

/** The most urgent step whose time has come, or none yet; pure. */
export function dueNag(
  window: MaintenanceWindow,
  now: Date,
  nagHours: readonly number[],
): { level: NagLevel; earlier: NagLevel[] } | undefined {
  const start = new Date(window.startsAt).getTime();
  const levels = nagLevels(nagHours);
  const due = levels.filter((l) => now.getTime() >= start - l.msBefore);
  const last = due.at(-1);
  if (!last || window.nagsSent.includes(last.level)) return undefined;
  return { level: last.level, earlier: due.slice(0, -1).map((l) => l.level) };
}

/**
 * The pre-upgrade backup that covers the window: of its env, verified after the window was declared
 * and before it began (plus `graceMs`, DBBACKUP_COVER_GRACE, default 0). One taken later is not one.
 */
export function coveringBackup(
  window: MaintenanceWindow,
  backups: readonly BackupSummary[],
  graceMs = 0,
): BackupSummary | undefined {
  const latest = new Date(new Date(window.startsAt).getTime() + graceMs).toISOString();
  return backups.find(
    (b) =>
      b.env === window.env && isPreUpgrade(b) && b.finishedAt > window.declaredAt && b.finishedAt <= latest,
  );
}

/** A pre-upgrade backup of the window's env that finished after the window began (and its grace). */
function lateBackup(window: MaintenanceWindow, backups: readonly BackupSummary[], graceMs: number) {
  const latest = new Date(new Date(window.startsAt).getTime() + graceMs).toISOString();
  return backups.find(
    (b) => b.env === window.env && isPreUpgrade(b) && b.finishedAt > latest && b.finishedAt < window.endsAt,
  );
}

/**
 * Declared windows: nag at growing urgency until a pre-upgrade backup covers the window, then say
 * "covered" once; after the window, post the diff between that backup and live, once.
 */
export async function runWindows(ctx: GuardrailContext): Promise<JobReport> {
  const { report, post, problem } = reporter(ctx, "windows");
  const store = new WindowStore(stateFor(ctx.config));
  const now = ctx.now();
  const open = await store.open();
  const all = open.length > 0 ? await verifiedBackups(ctx.config) : [];
  for (const window of open) {
    if (ctx.signal?.aborted) break;
    const backups = all.filter((b) => b.env === window.env);
    const cover = coveringBackup(window, backups, ctx.settings.coverGraceMs);
    if (now.getTime() >= new Date(window.endsAt).getTime()) {
      const from = cover ?? backups.find((b) => b.finishedAt <= window.startsAt);
      let diff = null;
      let error: string | null = null;
      if (!from) error = `there is no verified ${window.env} backup to compare with`;
      else {
        try {
          const { diffBackups } = await import("../../backup/diff.js");
          diff = await diffBackups({ config: ctx.config }, { from: from.id, to: "live" });
        } catch (e) {
          error = isDbBackupError(e) ? `${e.message} ${e.hint}` : "the diff failed unexpectedly";
          problem(`${window.id}: ${error}`);
        }
      }
      const said = await post({
        kind: "window-diff",
        window,
        from: from ? backupRef(from) : null,
        covered: cover !== undefined,
        diff,
        error,
      });
      if (said) await store.change(window.id, (w) => ({ ...w, diffPostedAt: now.toISOString() }));
      continue;
    }
    if (cover) {
      if (window.covered) continue;
      if (!(await post({ kind: "covered", window, backup: backupRef(cover) }))) continue;
      await store.change(window.id, (w) => ({
        ...w,
        covered: { backupId: cover.id, at: now.toISOString() },
      }));
      continue;
    }
    const late = lateBackup(window, backups, ctx.settings.coverGraceMs);
    if (late && !window.late) {
      if (!(await post({ kind: "late-cover", window, backup: backupRef(late) }))) continue;
      await store.change(window.id, (w) => ({ ...w, late: { backupId: late.id, at: now.toISOString() } }));
      continue;
    }
    const due = dueNag(window, now, ctx.settings.nagHours);
    if (!due) continue;
    const said = await post({
      kind: "nag",
      window,
      level: due.level,
      msLeft: new Date(window.startsAt).getTime() - now.getTime(),
    });
    if (!said) continue;
    await store.change(window.id, (w) => ({
      ...w,
      nagsSent: [...new Set([...w.nagsSent, ...due.earlier, due.level])],
    }));
  }
  return report;
}
