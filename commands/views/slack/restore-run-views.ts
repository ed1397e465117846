import type { ErrorCode } from "../../../src/errors.js";
import { formatDuration } from "../../../src/format.js";
import { comparedLines } from "../../../src/restore/parity.js";
import { overlapLines } from "../../../src/restore/shipped-overlap.js";
import type { JobProgress } from "../../kit/verb.js";
import type { RestoreResult } from "../../restore.js";
import { amber, context, escapeMrkdwn, failure, message, type SlackMessage, section, who } from "./blocks.js";

export function restoreStartedView(what: string, requestedBy: string, progress?: JobProgress): SlackMessage {
  const done = progress?.tablesTotal
    ? ` · ${progress.tablesDone} of ${progress.tablesTotal} tables, ${formatDuration(progress.elapsedMs)}`
    : "";
  return message(`${requestedBy} started a ${what}`, [
    section(`:hourglass_flowing_sand: ${who(requestedBy)} started a *${escapeMrkdwn(what)}*${done}`),
  ]);
}

/** A dry run: what the restore would do, and that nothing was changed. */
function restoreDryRunView(r: RestoreResult): SlackMessage {
  const { plan } = r;
  const where = `${escapeMrkdwn(plan.target.database)} (${escapeMrkdwn(plan.target.serverVersion)})`;
  const would = [
    plan.inPlace
      ? "in place: `pg_restore --clean --if-exists`, after a pinned safety backup of the target"
      : "into a fresh database",
    ...(plan.overSource ? ["the target is the database this backup was taken from"] : []),
    ...(plan.existing.length > 0 ? [`replaces ${plan.existing.length} objects`] : []),
    ...(plan.missingRoles.length > 0 ? [`creates roles (NOLOGIN): ${plan.missingRoles.join(", ")}`] : []),
    ...(plan.missingExtensions.length > 0
      ? [`extensions the target can't create: ${plan.missingExtensions.join(", ")}`]
      : []),
    ...overlapLines(plan.platform),
  ];
  return message(`Dry run: restoring ${r.id} into ${plan.target.database} changed nothing`, [
    section(`:mag: *Dry run* of restoring \`${escapeMrkdwn(r.id)}\` into ${where}: nothing was changed.`),
    context(would.map((line) => `• ${escapeMrkdwn(line)}`).join("\n")),
  ]);
}

export function restoreDoneView(r: RestoreResult): SlackMessage {
  if (r.dryRun) return restoreDryRunView(r);
  const where = `${escapeMrkdwn(r.plan.target.database)} (${escapeMrkdwn(r.plan.target.serverVersion)})`;
  const tables = r.parity.filter((p) => p.kind === "table");
  const failed = r.parity.filter((p) => p.result === "failed");
  const blocks = [
    section(
      `${r.ok ? ":white_check_mark:" : ":warning:"} *\`${escapeMrkdwn(r.id)}\` restored* into ${where} in ${formatDuration(r.durationMs)}`,
    ),
    context(
      `Tables: ${tables.filter((p) => p.result === "ok").length} of ${tables.length} with the rows recorded at dump time${
        failed.length > 0
          ? ` · ${failed.length} difference(s): ${escapeMrkdwn(
              failed
                .slice(0, 3)
                .map((p) => `${p.kind} ${p.name}`)
                .join(", "),
            )}`
          : ""
      }`,
    ),
    ...(r.compared.length > 0 ? [context(escapeMrkdwn(comparedLines(r.compared).join(" · ")))] : []),
    ...overlapLines(r.plan.platform).map((line) => context(`Supabase project: ${escapeMrkdwn(line)}`)),
    ...(r.safety
      ? [
          context(
            `Safety backup first: \`${r.safety.id}\` (pinned). To put it back: \`${escapeMrkdwn(r.safety.command)}\``,
          ),
        ]
      : []),
  ];
  const text = `${r.id} restored into ${r.plan.target.database}${r.ok ? "" : " with differences"}`;
  return r.ok ? message(text, blocks) : amber(text, blocks);
}

export function restoreFailedView(
  what: string,
  requestedBy: string,
  problem: string,
  hint: string,
  code: ErrorCode,
): SlackMessage {
  return failure(code, `${what} failed: ${problem}`, [
    section(`:x: *${escapeMrkdwn(what)} failed* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`),
    context(`What to do: ${escapeMrkdwn(hint)}`),
  ]);
}
