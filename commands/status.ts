import { z } from "zod/v3";
import { listBackups } from "../src/backup/catalog.js";
import { formatUtc } from "../src/format.js";
import { ApprovalStore } from "../src/state/approvals.js";
import { JobStore } from "../src/state/jobs.js";
import { stateFor } from "../src/state/open.js";
import { WindowStore } from "../src/state/windows.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { type StatusInput, statusView } from "./views/slack/views.js";

export type StatusResult = { ok: true } & StatusInput;

export const verb = defineVerb({
  name: "status",
  order: 12,
  summary: "Running backups, requests waiting for approval, the last backup per env, open upgrade windows.",
  slackSummary: "running backups, requests waiting for approval, the last backup per env",
  usage: { terminal: "dbbackup status [--json]", slack: "/dbbackup status" },
  args: z.undefined(),
  fromWords({ positionals }) {
    if (positionals.length > 0) throw usage("status takes no arguments.", "Try /dbbackup status.");
    return undefined;
  },
  async run(ctx): Promise<StatusResult> {
    const state = stateFor(ctx.config);
    const [listing, pending, windows, running] = await Promise.all([
      listBackups(ctx.config.backupsDir, state),
      new ApprovalStore(state).pending(),
      new WindowStore(state).open(),
      // The bot's own jobs when it asks (restore tests too); else every bot's backups on record.
      ctx.jobs?.list() ??
        new JobStore(state).list().then((jobs) => jobs.map((j) => ({ ...j, title: `${j.env} backup` }))),
    ]);
    const lastPerEnv = [...new Map(listing.backups.map((b) => [b.env, b])).values()];
    return {
      ok: true,
      running,
      pending,
      last: lastPerEnv.map((b) => ({ env: b.env, id: b.id, stage: b.stage, finishedAt: b.finishedAt })),
      windows,
      now: ctx.now?.() ?? new Date(),
    };
  },
  terminal: {
    render(r) {
      const lines = [
        `Running: ${r.running.length === 0 ? "nothing" : ""}`,
        ...r.running.map(
          (j) =>
            `  ${j.id} ${j.env}${j.label ? ` (${j.label})` : ""} by ${j.requestedBy} since ${formatUtc(j.startedAt)}`,
        ),
        `Waiting for approval: ${r.pending.length === 0 ? "none" : ""}`,
        ...r.pending.map(
          (p) =>
            `  ${p.env}${p.label ? ` (${p.label})` : ""} asked by ${p.requestedBy}, expires ${formatUtc(p.expiresAt)}`,
        ),
        "Last backup per env:",
        ...(r.last.length === 0
          ? ["  no backups yet"]
          : r.last.map((b) => `  ${b.env} ${b.id} ${formatUtc(b.finishedAt)}, stage ${b.stage ?? "none"}`)),
        ...(r.windows && r.windows.length > 0
          ? [
              "Upgrade windows:",
              ...r.windows.map(
                (w) =>
                  `  ${w.id} ${w.env} ${formatUtc(w.startsAt)}: ${w.covered ? `covered by ${w.covered.backupId}` : "no pre-upgrade backup yet"}`,
              ),
            ]
          : []),
      ];
      return `${lines.join("\n")}\n`;
    },
  },
  slack: { mode: "answer", inAck: true, render: (r) => statusView(r) },
});
