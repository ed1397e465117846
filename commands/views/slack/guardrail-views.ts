import { formatBytes, formatHoursMinutes } from "../../../src/format.js";
import type { BackupRef, Notice } from "../../../src/guardrails/notices.js";
import {
  amber,
  type Block,
  context,
  escapeMrkdwn,
  message,
  red,
  type SlackMessage,
  section,
  who,
} from "./blocks.js";
import { diffBlocks } from "./diff-views.js";
import { offsitePrunedBlocks } from "./offsite-prune-views.js";
import { when, windowTitle } from "./window-views.js";

/** Block Kit for the scheduled guardrails' notices: pure functions of their data. */

export const BACKUP_NOW_ACTION = "guardrail_backup";
export const DRILL_NOW_ACTION = "guardrail_restore_test";

function backupLine(b: BackupRef): string {
  return `\`${b.id}\` (${b.version}, finished ${when(b.finishedAt)} by ${who(b.requestedBy)})`;
}

export interface ButtonRules {
  /** Envs whose backups need a second person: their button requests one instead. */
  approvalEnvs: readonly string[];
}

function backupButton(env: string, label: string | null, rules: ButtonRules, primary = true): Block {
  const needsApproval = rules.approvalEnvs.includes(env);
  return {
    type: "actions",
    elements: [
      {
        type: "button",
        action_id: BACKUP_NOW_ACTION,
        text: {
          type: "plain_text",
          text: `${needsApproval ? "Request" : "Start"} a ${env} ${label ?? ""} backup`.replace(/\s+/g, " "),
        },
        ...(primary ? { style: "primary" as const } : {}),
        value: JSON.stringify({ env, label }),
      },
    ],
  };
}

function drillButton(env: string): Block {
  return {
    type: "actions",
    elements: [
      {
        type: "button",
        action_id: DRILL_NOW_ACTION,
        text: { type: "plain_text", text: `Run the ${env} restore test now` },
        style: "primary",
        value: JSON.stringify({ env }),
      },
    ],
  };
}

function untilText(ms: number): string {
  return ms <= 0 ? "now" : `in ${formatHoursMinutes(ms)}`;
}

const NAG_ICON = { start: ":rotating_light:", near: ":warning:", far: ":calendar:" } as const;

/** The notice of one kind, narrowed to that kind's fields. */
type NoticeOf<K extends Notice["kind"]> = Extract<Notice, { kind: K }>;

function nagView(n: NoticeOf<"nag">, rules: ButtonRules): SlackMessage {
  const w = n.window;
  const icon =
    n.level === "start" ? NAG_ICON.start : n.msLeft <= 24 * 3_600_000 ? NAG_ICON.near : NAG_ICON.far;
  const head =
    n.level === "start"
      ? `${icon} *The ${w.env} upgrade window starts now and there is no pre-upgrade backup of ${w.env}.*`
      : `${icon} *${w.env} upgrade ${untilText(n.msLeft)}, and no pre-upgrade backup yet.*`;
  return message(`${w.env} upgrade ${untilText(n.msLeft)}: no pre-upgrade backup yet`, [
    section(`${head}\n${windowTitle(w)}, declared by ${who(w.declaredBy)}`),
    backupButton(w.env, "pre-upgrade", rules),
    context(`Or: /dbbackup ${w.env} pre-upgrade · npx dbbackup ${w.env} pre-upgrade`),
  ]);
}

function coveredView(n: NoticeOf<"covered">): SlackMessage {
  return message(`${n.window.env} upgrade window covered by ${n.backup.id}`, [
    section(
      `:white_check_mark: The *${windowTitle(n.window)}* is covered: ${backupLine(n.backup)} reached stage 2. No more reminders.`,
    ),
  ]);
}

function lateCoverView(n: NoticeOf<"late-cover">): SlackMessage {
  return amber(`${n.backup.id} finished after the ${n.window.env} upgrade window began`, [
    section(
      `:warning: ${backupLine(n.backup)} finished after the *${windowTitle(n.window)}* began: it is not a pre-upgrade backup, and the window stays uncovered.`,
    ),
    context(
      "A pre-upgrade backup is taken before the upgrade starts (DBBACKUP_COVER_GRACE allows a few minutes).",
    ),
  ]);
}

function windowDiffView(n: NoticeOf<"window-diff">): SlackMessage {
  const w = n.window;
  const head = section(
    `:mag: *After the ${windowTitle(w)}*: ${n.from ? `${backupLine(n.from)} vs live` : "nothing to compare with"}`,
  );
  const warn = n.covered
    ? []
    : [
        context(
          `:warning: No pre-upgrade backup covered this window${n.from ? "; compared with the newest backup before it" : ""}.`,
        ),
      ];
  if (!n.diff)
    return red(`After the ${w.env} upgrade window: no diff (${n.error ?? "unknown"})`, [
      head,
      ...warn,
      section(`Couldn't compare: ${escapeMrkdwn(n.error ?? "unknown")}`),
    ]);
  const text = `After the ${w.env} upgrade window: ${n.diff.version.changed ? `${n.diff.version.before} → ${n.diff.version.after}` : `still ${n.diff.version.after}`}`;
  const blocks = [head, ...warn, ...diffBlocks(n.diff)];
  return n.diff.securityInvokerLost > 0 || !n.covered ? red(text, blocks) : message(text, blocks);
}

function versionChangedView(n: NoticeOf<"version-changed">, rules: ButtonRules): SlackMessage {
  return red(`${n.env} went from ${n.from} to ${n.to} without a pre-upgrade backup`, [
    section(
      `:rotating_light: *${n.env} went from ${escapeMrkdwn(n.from)} to ${escapeMrkdwn(n.to)} without a pre-upgrade backup.*\nThe newest backup is ${backupLine(n.lastBackup)}, taken before the change. Take one at the new version now, and check the upgrade with /dbbackup diff ${n.lastBackup.id} live`,
    ),
    backupButton(n.env, null, rules),
  ]);
}

function deadManView(n: NoticeOf<"dead-man">, rules: ButtonRules): SlackMessage {
  const last = n.lastBackup ? `The last one is ${backupLine(n.lastBackup)}.` : `There has never been one.`;
  const c = n.offsite?.lastCopy;
  const copy = c
    ? ` The last copy off-site is \`${c.id}\`, proven ${when(c.provenAt)}.`
    : " None was ever copied.";
  const head = n.noStage2
    ? `:skull: *No ${n.env} backup has reached stage 2 in ${n.days} days${n.offsite ? ", and none reached off-site" : ""}.*\n${last}${n.offsite ? copy : ""} Check the schedule that should make them, and take one now.`
    : `:skull: *No ${n.env} backup has reached off-site in ${n.days} days.*\nBackups still reach stage 2: ${last}${copy} Check the off-site settings and \`/dbbackup list\`; \`/dbbackup offsite ${n.lastBackup?.id ?? "<id>"}\` copies it now.`;
  const title = n.noStage2 ? `No verified ${n.env} backup` : `No ${n.env} backup reached off-site`;
  return red(`${title} in ${n.days} days`, [section(head), backupButton(n.env, null, rules)]);
}

function drillDueView(n: NoticeOf<"drill-due">): SlackMessage {
  const d = n.lastDrill;
  const last = d
    ? `The last ${n.env} drill: ${who(d.by)}, ${when(d.at)}, \`${d.backupId}\`: ${d.ok ? ":white_check_mark: passed" : ":x: failed"} (${escapeMrkdwn(d.summary)})`
    : `There is no restore drill of ${n.env} on record.`;
  const head =
    n.reason === "quarterly"
      ? `:fire_extinguisher: *${n.quarter}: time for this quarter's ${n.env} restore drill.*`
      : `:fire_extinguisher: *No passing ${n.env} restore drill in ${n.maxAgeDays} days.*`;
  return message(`${n.env} restore drill due (${n.reason})`, [
    section(`${head}\n${last}`),
    drillButton(n.env),
    context(
      `It restores the newest ${n.env} backup into a scratch server and checks it; the drill log records it.`,
    ),
  ]);
}

function prunedView(n: NoticeOf<"pruned">): SlackMessage {
  return message(`Retention deleted ${n.deleted.length} backup(s), ${formatBytes(n.freedBytes)}`, [
    section(
      `:broom: *Retention${n.trigger === "after-backup" ? " after the backup" : ""}* deleted ${n.deleted.length} backup${n.deleted.length === 1 ? "" : "s"}, ${formatBytes(n.freedBytes)} freed:\n${n.deleted
        .map((d) => `• \`${d.id}\` ${formatBytes(d.bytes)}: ${escapeMrkdwn(d.reason)}`)
        .join("\n")}`,
    ),
    ...offsitePrunedBlocks(n.offsite),
  ]);
}

function supabaseUpgradeView(n: NoticeOf<"supabase-upgrade">, rules: ButtonRules): SlackMessage {
  const what = n.running
    ? `*Supabase is upgrading ${n.env} now*${n.targetVersion ? ` (to ${escapeMrkdwn(n.targetVersion)})` : ""}`
    : `*A Postgres upgrade is available for ${n.env}*${n.targetVersion ? ` (${escapeMrkdwn(n.currentVersion ?? "?")} → ${escapeMrkdwn(n.targetVersion)})` : ""}`;
  const last = n.lastPreUpgrade
    ? `The last pre-upgrade backup is ${backupLine(n.lastPreUpgrade)}.`
    : `There is no pre-upgrade backup of ${n.env}.`;
  const view = [
    section(
      `${n.running ? ":rotating_light:" : ":arrow_up:"} ${what}, and no recent pre-upgrade backup. ${last}`,
    ),
    backupButton(n.env, "pre-upgrade", rules),
    context(`Supabase project \`${n.ref}\``),
  ];
  return n.running
    ? red(`Supabase is upgrading ${n.env} without a recent pre-upgrade backup`, view)
    : message(`Upgrade available for ${n.env}: take a pre-upgrade backup first`, view);
}

/** One view per notice kind; the mapped type makes a new kind without a view a compile error. */
const NOTICE_VIEWS: { [K in Notice["kind"]]: (n: NoticeOf<K>, rules: ButtonRules) => SlackMessage } = {
  nag: nagView,
  covered: coveredView,
  "late-cover": lateCoverView,
  "window-diff": windowDiffView,
  "version-changed": versionChangedView,
  "dead-man": deadManView,
  "drill-due": drillDueView,
  pruned: prunedView,
  "supabase-upgrade": supabaseUpgradeView,
};

/** One notice as a channel message, with its button where a person can act on it at once. */
export function noticeView(n: Notice, rules: ButtonRules): SlackMessage {
  // TypeScript can't tie the looked-up view to n's kind; the table's type guarantees they match.
  const view = NOTICE_VIEWS[n.kind] as (notice: Notice, rules: ButtonRules) => SlackMessage;
  return view(n, rules);
}
