import type { types } from "@slack/bolt";
import type { BackupResult } from "../../commands/backup.js";
import type { ListResult } from "../../commands/list.js";
import { rowAlarms, rowSummary } from "../backup/row-changes.js";
import {
  formatAge,
  formatBytes,
  formatDuration,
  formatExtensionChanges,
  formatUtc,
  STAGE_LABEL,
  shortVersion,
} from "../cli/format.js";
import { restoreAdvice } from "../restore/advice.js";

/** Block Kit views: pure functions of result objects, always with a plain-text fallback. */

export type Block = types.KnownBlock;

export interface SlackMessage {
  text: string;
  /** Empty when the content sits in a coloured attachment: an update must still clear old blocks. */
  blocks: Block[];
  attachments?: { color: string; blocks: Block[] }[];
}

const RED = "#d1242f";

/** Slack's limits: 3,000 characters a section, 50 blocks a message. */
const SECTION_MAX = 3000;
const BLOCKS_MAX = 50;

function clip(text: string, max = SECTION_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack's mrkdwn treats & < > as markup; anything we didn't write ourselves is escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function section(text: string): Block {
  return { type: "section", text: { type: "mrkdwn", text: clip(text) } };
}

export function context(text: string): Block {
  return { type: "context", elements: [{ type: "mrkdwn", text: clip(text) }] };
}

export function message(text: string, blocks: Block[]): SlackMessage {
  const capped =
    blocks.length > BLOCKS_MAX ? [...blocks.slice(0, BLOCKS_MAX - 1), context("…cut to fit Slack")] : blocks;
  return { text: clip(text, 4000), blocks: capped };
}

/** A failure: the same message turns red (an attachment's colour bar holds the blocks). */
export function red(text: string, blocks: Block[]): SlackMessage {
  const m = message(text, blocks);
  return { text: m.text, blocks: [], attachments: [{ color: RED, blocks: m.blocks }] };
}

export function helpView(): SlackMessage {
  const lines = [
    "*`/dbbackup [env] [label]`* back up now (staging by default); prod asks a second person to approve",
    "*`/dbbackup list [env]`* backups, newest first, with how far each is verified",
    "*`/dbbackup status`* running backups, requests waiting for approval, the last backup per env",
    "*`/dbbackup cancel [id]`* stop a running backup (the requester or an approver)",
    "*`/dbbackup restore-test latest [env]`* prove a backup restores (stage 3), or give an id",
    "*`/dbbackup keep <id> [reason]`* pin a backup so retention never deletes it",
    "*`/dbbackup upgrade prod 2026-12-01 02:00 UTC [2h] [note]`* declare a maintenance window: reminders until a pre-upgrade backup exists, a diff after",
    "*`/dbbackup upgrade list`* · *`/dbbackup upgrade cancel <id>`* the declared windows",
    "*`/dbbackup diff <id> [<id>|live]`* version, extensions, view reloptions, policies: the post-upgrade sanity check",
    "*`/dbbackup help`* this",
  ];
  return message(
    "dbbackup: /dbbackup [env] [label] | list [env] | status | cancel [id] | restore-test latest [env] | keep <id> [reason] | upgrade … | diff <id> [<id>|live] | help",
    [
      section("*dbbackup* takes verified Postgres backups."),
      section(lines.join("\n")),
      context("Labels: a-z 0-9 . _ - (up to 40), e.g. `pre-upgrade`."),
    ],
  );
}

export function usageErrorView(problem: string, hint: string): SlackMessage {
  return message(`${problem} ${hint}`, [
    section(`:warning: ${escapeMrkdwn(problem)}`),
    context(`${escapeMrkdwn(hint)} · \`/dbbackup help\` lists the commands.`),
  ]);
}

export function listView(r: ListResult, now: Date): SlackMessage {
  if (r.backups.length === 0) {
    return message(`No backups${r.env ? ` of ${r.env}` : ""} yet.`, [
      section(`No backups${r.env ? ` of *${r.env}*` : ""} yet.`),
    ]);
  }
  const blocks: Block[] = [];
  for (const env of [...new Set(r.backups.map((b) => b.env))]) {
    const rows = r.backups.filter((b) => b.env === env).slice(0, 10);
    const lines = rows.map((b) => {
      const stage = b.stage ? STAGE_LABEL[b.stage] : "not verified";
      const pin = b.pin ? ` :pushpin: ${escapeMrkdwn(b.pin.reason)}` : "";
      const test = b.restoreTest
        ? b.restoreTest.ok
          ? ` · restore test passed ${formatAge(now, b.restoreTest.at)}`
          : ` · :x: restore test FAILED ${formatAge(now, b.restoreTest.at)}`
        : "";
      return `\`${b.id}\` ${formatBytes(b.totalBytes)} · ${formatAge(now, b.finishedAt)} · stage ${stage}${test}${pin}`;
    });
    const more = r.backups.filter((b) => b.env === env).length - rows.length;
    blocks.push(section(`*${env}*\n${lines.join("\n")}${more > 0 ? `\n…and ${more} older` : ""}`));
  }
  for (const run of r.running)
    blocks.push(context(`:hourglass_flowing_sand: ${run.env} backup running, started by ${run.requestedBy}`));
  return message(`${r.backups.length} backups`, blocks);
}

export interface BackupProgress {
  env: string;
  label: string | null;
  requestedBy: string;
  step: string;
  tablesDone: number;
  tablesTotal: number | undefined;
  bytes: number;
  elapsedMs: number;
}

export function who(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

export function backupStartedView(p: BackupProgress): SlackMessage {
  const what = `${p.env} backup${p.label ? ` (${escapeMrkdwn(p.label)})` : ""}`;
  const tables = p.tablesTotal ? `${p.tablesDone}/${p.tablesTotal} tables` : `${p.tablesDone} tables`;
  return message(`${p.requestedBy} started a ${p.env} backup`, [
    section(`:hourglass_flowing_sand: ${who(p.requestedBy)} started a ${what}`),
    context(`${p.step} · ${tables} · ${formatBytes(p.bytes)} written · ${formatDuration(p.elapsedMs)}`),
  ]);
}

export function backupDoneView(r: BackupResult): SlackMessage {
  const dump = r.files.find((f) => f.name === "db_full.dump");
  const stage = r.stage ? STAGE_LABEL[r.stage] : "none";
  const fields = [
    `*Stage* ${stage}`,
    `*Server* ${escapeMrkdwn(shortVersion(r.serverVersion))} (pg_dump ${escapeMrkdwn(r.pgDumpVersion)})`,
    `*Size* ${formatBytes(dump?.bytes ?? 0)} dump, ${formatBytes(r.totalBytes)} total`,
    `*sha256* \`${dump?.sha256.slice(0, 12) ?? "?"}\``,
    `*Extensions* ${r.extensions.length}${r.extensionChanges ? ` (since last: ${escapeMrkdwn(formatExtensionChanges(r.extensionChanges))})` : ""}`,
    `*Views* ${r.views} (${r.securityInvokerViews} security_invoker=true)`,
    `*TOC* ${r.tocEntries} entries: ${r.tocCounts.tables} tables (${r.tocCounts.tableData} with data)`,
    `*Time* ${formatDuration(r.durationMs)}, ${r.mbPerSecond} MB/s`,
  ];
  const blocks: Block[] = [
    section(
      `:white_check_mark: *${r.env} backup verified* \`${r.id}\`${r.label ? ` (${escapeMrkdwn(r.label)})` : ""}`,
    ),
    { type: "section", fields: fields.map((text) => ({ type: "mrkdwn", text })) },
  ];
  for (const w of r.warnings) blocks.push(context(`:warning: ${escapeMrkdwn(w)}`));
  if (r.rowChanges) {
    const alarms = rowAlarms(r.rowChanges);
    blocks.push(
      context(
        alarms.length > 0
          ? `:rotating_light: Since \`${r.rowChanges.since}\` (more than ${r.rowChanges.dropPercent}% lost): ${alarms.slice(0, 10).map(escapeMrkdwn).join("; ")}${alarms.length > 10 ? `; and ${alarms.length - 10} more` : ""}`
          : `Rows since \`${r.rowChanges.since}\`: ${rowSummary(r.rowChanges)}`,
      ),
    );
  }
  if (r.exposedViews.length > 0) {
    blocks.push(
      context(
        `:warning: ${r.exposedViews.length} view(s) readable by anon/authenticated without security_invoker=true, so they bypass RLS: ${r.exposedViews.map((v) => `\`${escapeMrkdwn(v)}\``).join(", ")}`,
      ),
    );
  }
  return message(`${r.env} backup ${r.id} verified to stage ${stage}`, blocks);
}

export function backupFailedView(
  env: string,
  requestedBy: string,
  problem: string,
  hint: string,
): SlackMessage {
  return red(`${env} backup failed: ${problem}`, [
    section(`:x: *${env} backup failed* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`),
    context(`What to do: ${escapeMrkdwn(hint)}`),
  ]);
}

export function restoreHintView(command: string): SlackMessage {
  return message(`Restore: ${command}`, [
    section(`To restore (practise it on a scratch database first):\n\`\`\`${command}\`\`\``),
  ]);
}

export interface ApprovalView {
  id: string;
  env: string;
  label: string | null;
  reason: string | null;
  requestedBy: string;
  expiresAt: string;
  status: "pending" | "approved" | "denied" | "expired";
  approvals: { by: string; at: string }[];
  decidedBy: string | null;
  decidedAt: string | null;
}

function hhmm(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}

/** The request, with Approve (behind a confirm dialog) and Deny while it is pending; who decided after. */
export function approvalView(a: ApprovalView, minApprovers: number): SlackMessage {
  const what = `${a.env} backup${a.label ? ` (${escapeMrkdwn(a.label)})` : ""}`;
  const head = `:lock: ${who(a.requestedBy)} asks for a *${what}*${a.reason ? `\n>${escapeMrkdwn(a.reason)}` : ""}`;
  const blocks: Block[] = [section(head)];
  const approvedBy = a.approvals.map((x) => who(x.by)).join(", ");
  if (a.status === "pending") {
    const needed = minApprovers - a.approvals.length;
    blocks.push(
      context(
        `Needs ${needed} more approver${needed === 1 ? "" : "s"}${approvedBy ? ` (approved so far by ${approvedBy})` : ""} · expires ${hhmm(a.expiresAt)}`,
      ),
      {
        type: "actions",
        block_id: "approval",
        elements: [
          {
            type: "button",
            action_id: "approval_approve",
            text: { type: "plain_text", text: "Approve" },
            style: "primary",
            value: a.id,
            confirm: {
              title: { type: "plain_text", text: `Approve the ${a.env} backup?` },
              text: { type: "mrkdwn", text: `It starts right away and reads the whole ${a.env} database.` },
              confirm: { type: "plain_text", text: "Approve" },
              deny: { type: "plain_text", text: "Cancel" },
            },
          },
          {
            type: "button",
            action_id: "approval_deny",
            text: { type: "plain_text", text: "Deny" },
            style: "danger",
            value: a.id,
          },
        ],
      },
    );
  } else if (a.status === "approved") {
    blocks.push(
      context(
        `:white_check_mark: Approved by ${approvedBy} at ${hhmm(a.decidedAt ?? a.expiresAt)}; the backup is starting.`,
      ),
    );
  } else if (a.status === "denied") {
    blocks.push(
      context(`:no_entry: Denied by ${who(a.decidedBy ?? "?")} at ${hhmm(a.decidedAt ?? a.expiresAt)}.`),
    );
  } else {
    blocks.push(
      context(
        `:hourglass: Expired at ${hhmm(a.expiresAt)} without approval; ask again if it's still needed.`,
      ),
    );
  }
  return message(`${a.requestedBy} asks for a ${a.env} backup: ${a.status}`, blocks);
}

export interface StatusInput {
  running: { id: string; env: string; label: string | null; requestedBy: string; startedAt: string }[];
  pending: { env: string; label: string | null; requestedBy: string; expiresAt: string }[];
  last: { env: string; id: string; stage: string | null; finishedAt: string }[];
  /** Declared upgrade windows still open. */
  windows?: { id: string; env: string; startsAt: string; covered: { backupId: string } | null }[];
  now: Date;
}

export function statusView(s: StatusInput): SlackMessage {
  const running = s.running.length
    ? s.running
        .map(
          (j) =>
            `\`${j.id}\` ${j.env}${j.label ? ` (${escapeMrkdwn(j.label)})` : ""} by ${who(j.requestedBy)} since ${hhmm(j.startedAt)}`,
        )
        .join("\n")
    : "nothing";
  const pending = s.pending.length
    ? s.pending
        .map(
          (p) =>
            `${p.env}${p.label ? ` (${escapeMrkdwn(p.label)})` : ""} asked by ${who(p.requestedBy)}, expires ${hhmm(p.expiresAt)}`,
        )
        .join("\n")
    : "none";
  const last = s.last.length
    ? s.last
        .map(
          (b) =>
            `*${b.env}* \`${b.id}\` ${formatAge(s.now, b.finishedAt)}, stage ${b.stage ? STAGE_LABEL[b.stage as keyof typeof STAGE_LABEL] : "none"}`,
        )
        .join("\n")
    : "no backups yet";
  const windows = (s.windows ?? []).map(
    (w) =>
      `\`${w.id}\` ${w.env} ${formatUtc(w.startsAt)}: ${w.covered ? `covered by \`${w.covered.backupId}\`` : ":warning: no pre-upgrade backup yet"}`,
  );
  return message(`Running: ${s.running.length}, pending approvals: ${s.pending.length}`, [
    section(`*Running*\n${running}`),
    section(`*Waiting for approval*\n${pending}`),
    section(`*Last backup per env*\n${last}`),
    ...(windows.length > 0 ? [section(`*Upgrade windows*\n${windows.join("\n")}`)] : []),
  ]);
}

export interface RestoreTestSummary {
  ok: boolean;
  id: string;
  serverMajor: number;
  durationMs: number;
  summary: string;
  parity: { kind: string; name: string; expected: string; actual: string; result: string; note?: string }[];
}

/** Stage 3's report: green with what matched, or red with what differed (first 10). */
export function restoreTestView(r: RestoreTestSummary, requestedBy: string): SlackMessage {
  const notable = r.parity.filter((p) => p.result !== "ok");
  const lines = notable
    .slice(0, 10)
    .map(
      (p) =>
        `${p.result === "failed" ? ":x:" : ":large_yellow_circle:"} ${p.kind} \`${escapeMrkdwn(p.name)}\`: expected ${escapeMrkdwn(p.expected)}, got ${escapeMrkdwn(p.actual)}`,
    );
  const changed = r.parity.some((p) => p.kind === "file" && p.result === "failed");
  const head = r.ok
    ? `:white_check_mark: *Restore test passed* for \`${r.id}\`: stage 3 restored`
    : changed
      ? `:x: *Restore test FAILED* for \`${r.id}\`: the files changed since the backup was taken; nothing was restored. Don't rely on this backup`
      : `:x: *Restore test FAILED* for \`${r.id}\`: don't rely on this backup`;
  const blocks: Block[] = [
    section(head),
    context(
      `Postgres ${r.serverMajor} scratch server · ${formatDuration(r.durationMs)} · ${r.summary} · asked by ${who(requestedBy)}`,
    ),
  ];
  if (lines.length > 0) blocks.push(section(lines.join("\n")));
  if (!r.ok) blocks.push(context(`What to do: ${escapeMrkdwn(restoreAdvice(r.parity))}`));
  const text = `Restore test of ${r.id}: ${r.ok ? "passed" : "FAILED"} (${r.summary})`;
  return r.ok ? message(text, blocks) : red(text, blocks);
}

export function restoreTestFailedView(
  what: string,
  requestedBy: string,
  problem: string,
  hint: string,
): SlackMessage {
  return red(`Restore test of ${what} could not run: ${problem}`, [
    section(
      `:x: *Restore test of \`${escapeMrkdwn(what)}\` could not run* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`,
    ),
    context(`What to do: ${escapeMrkdwn(hint)}`),
  ]);
}
