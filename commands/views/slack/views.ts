import { formatAge, formatBytes, formatUtc, STAGE_LABEL } from "../../../src/format.js";
import type { ListResult } from "../../list.js";
import {
  type Block,
  context,
  escapeMrkdwn,
  hhmm,
  message,
  type SlackMessage,
  section,
  who,
} from "./blocks.js";

/** Block Kit answers to the verbs (help, usage errors, list, status): pure, always with a text fallback. */

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
      const offsite = b.offsite
        ? b.offsite.ok
          ? " · off-site ✓"
          : ` · :warning: off-site failed: ${escapeMrkdwn((b.offsite.why ?? "").slice(0, 80))}`
        : "";
      const host = b.host ? ` · on ${escapeMrkdwn(b.host)}` : "";
      return `\`${b.id}\` ${formatBytes(b.totalBytes)} · ${formatAge(now, b.finishedAt)} · stage ${stage}${test}${offsite}${host}${pin}`;
    });
    const more = r.backups.filter((b) => b.env === env).length - rows.length;
    blocks.push(section(`*${env}*\n${lines.join("\n")}${more > 0 ? `\n…and ${more} older` : ""}`));
  }
  for (const run of r.running)
    blocks.push(context(`:hourglass_flowing_sand: ${run.env} backup running, started by ${run.requestedBy}`));
  return message(`${r.backups.length} backups`, blocks);
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
