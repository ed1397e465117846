import { formatBytes, formatHoursMinutes, formatUtc } from "../../../src/format.js";
import type { JobReport } from "../../../src/guardrails/context.js";
import { JOB_NAMES, JOB_PURPOSE } from "../../../src/guardrails/job-names.js";
import type { Notice } from "../../../src/guardrails/notices.js";
import type { GuardrailSettings } from "../../../src/guardrails/settings.js";
import type { MaintenanceWindow } from "../../../src/state/windows.js";
import type { UpgradeResult } from "../../upgrade.js";
import type { Style } from "./render.js";
import { renderDiff } from "./render-diff.js";

function windowLine(w: MaintenanceWindow): string {
  const hours = (new Date(w.endsAt).getTime() - new Date(w.startsAt).getTime()) / 3_600_000;
  return `${w.id}  ${w.env}  ${formatUtc(w.startsAt)} for ${Number(hours.toFixed(2))}h${w.note ? `  "${w.note}"` : ""}  (declared by ${w.declaredBy})`;
}

export function renderUpgrade(r: UpgradeResult, s: Style): string {
  if (r.action === "declare")
    return `${s.ok("✔")} Declared ${windowLine(r.window)}\n  Nags start ahead of it until a pre-upgrade backup of ${r.window.env} is verified; cancel: dbbackup upgrade cancel ${r.window.id}\n${r.announced ? `  ${r.announced.startsWith("announced") ? r.announced : s.warn(r.announced)}\n` : ""}`;
  if (r.action === "cancel") return `${s.ok("✔")} Cancelled ${windowLine(r.window)}\n`;
  if (r.windows.length === 0) return "No upgrade windows declared.\n";
  return `${r.windows
    .map(
      (w) =>
        `${windowLine(w)}  ${w.covered ? s.ok(`covered by ${w.covered.backupId}`) : s.warn("no pre-upgrade backup yet")}`,
    )
    .join("\n")}\n`;
}

function deadManText(n: Extract<Notice, { kind: "dead-man" }>): string {
  const copy = n.offsite?.lastCopy;
  const copyText = copy ? `last copy: ${copy.id}, proven ${formatUtc(copy.provenAt)}` : "never";
  if (!n.noStage2)
    return `No ${n.env} backup reached off-site in ${n.days} days (${copyText}), though backups still reach stage 2 (newest: ${n.lastBackup?.id ?? "?"}). Check the off-site settings and \`dbbackup list --offsite\`, then copy it: dbbackup offsite ${n.lastBackup?.id ?? "<ID>"}`;
  return `No ${n.env} backup reached stage 2 in ${n.days} days${n.lastBackup ? ` (last: ${n.lastBackup.id})` : " (never)"}${n.offsite ? `, and none reached off-site (${copyText})` : ""}. Take one now: dbbackup ${n.env}`;
}

/** One notice as the terminal shows it (the same facts as the Slack message). */
export function renderNotice(n: Notice, s: Style): string {
  switch (n.kind) {
    case "nag":
      return s.warn(
        `${n.window.env} upgrade window ${formatUtc(n.window.startsAt)} (${n.window.id}): ${n.level === "start" ? "starts now" : `starts in ${formatHoursMinutes(n.msLeft)}`}, no pre-upgrade backup yet. Run: dbbackup ${n.window.env} pre-upgrade`,
      );
    case "covered":
      return s.ok(`${n.window.env} upgrade window ${n.window.id} is covered by ${n.backup.id}.`);
    case "late-cover":
      return s.warn(
        `${n.backup.id} finished after the ${n.window.env} upgrade window ${n.window.id} began: it is not a pre-upgrade backup; the window stays uncovered.`,
      );
    case "window-diff": {
      const head = `After the ${n.window.env} upgrade window ${n.window.id}: ${n.from?.id ?? "no backup"} vs live${n.covered ? "" : " (no pre-upgrade backup covered it)"}`;
      if (!n.diff) return s.bad(`${head}: ${n.error ?? "no diff"}`);
      const text = `${head}\n${renderDiff(n.diff, s).trimEnd()}`;
      return n.covered ? text : s.bad(text);
    }
    case "version-changed":
      return s.bad(
        `${n.env} went from ${n.from} to ${n.to} without a pre-upgrade backup (newest: ${n.lastBackup.id}). Take one now: dbbackup ${n.env}`,
      );
    case "dead-man":
      return s.bad(deadManText(n));
    case "drill-due": {
      const d = n.lastDrill;
      const last = d
        ? `last drill ${formatUtc(d.at)} by ${d.by}: ${d.ok ? "passed" : "failed"}`
        : "no drill on record";
      return s.warn(
        `${n.env} restore drill due (${n.reason === "quarterly" ? n.quarter : `none passed in ${n.maxAgeDays} days`}; ${last}). Run: dbbackup restore-test latest --env ${n.env}`,
      );
    }
    case "pruned":
      return [
        ...(n.deleted.length > 0 || !n.offsite
          ? [`Retention deleted ${n.deleted.length} backup(s), ${formatBytes(n.freedBytes)}:`]
          : []),
        ...n.deleted.map((d) => `  ${d.id}  ${formatBytes(d.bytes)}  ${d.reason}`),
        ...(n.offsite
          ? [
              `Off-site retention deleted ${n.offsite.deleted.length} copies, ${formatBytes(n.offsite.freedBytes)}:`,
              ...n.offsite.deleted.map((d) => `  ${d.id}  ${formatBytes(d.bytes)}  ${d.reason}`),
              ...n.offsite.left.map((l) => `  ${l.id}  left in place: ${l.note}`),
            ]
          : []),
      ].join("\n");
    case "supabase-upgrade":
      return s.warn(
        `Supabase ${n.running ? "is upgrading" : "offers an upgrade for"} ${n.env} (${n.ref}${n.targetVersion ? ` → ${n.targetVersion}` : ""}) and no recent pre-upgrade backup exists. Run: dbbackup ${n.env} pre-upgrade`,
      );
  }
}

/** The closing summary; the notices themselves were printed as they went out. */
export function renderJobReport(r: JobReport, s: Style, posted: string): string {
  const lines = [
    `${s.bold(r.job)}: ${r.notices.length === 0 ? "nothing to say" : `${r.notices.length} notice${r.notices.length === 1 ? "" : "s"} (${posted})`}`,
    ...r.problems.map((p) => `  ${s.warn("!")} ${p}`),
  ];
  return `${lines.join("\n")}\n`;
}

export function renderJobList(
  settings: Pick<GuardrailSettings, "schedules" | "timeZone"> & { supabase: unknown },
  s: Style,
): string {
  const lines = JOB_NAMES.map((name) => {
    const schedule =
      name === "supabase" && !settings.supabase
        ? "off (no SUPABASE_PROJECT_REF_<ENV>)"
        : settings.schedules[name];
    return `${s.bold(name.padEnd(10))} ${schedule.padEnd(16)} ${JOB_PURPOSE[name]}`;
  });
  return `${lines.join("\n")}\nSchedules are cron in ${settings.timeZone}. Run one now: dbbackup jobs run <name>\n`;
}
