import type { ErrorCode } from "../../../src/errors.js";
import { formatAge, formatBytes } from "../../../src/format.js";
import type { OffsiteListResult } from "../../list.js";
import type { OffsiteResult } from "../../offsite.js";
import { context, escapeMrkdwn, failure, message, type SlackMessage, section, who } from "./blocks.js";

export function offsiteStartedView(id: string, requestedBy: string): SlackMessage {
  return message(`${requestedBy} started an off-site copy of ${id}`, [
    section(
      `:hourglass_flowing_sand: ${who(requestedBy)} started an off-site copy of \`${escapeMrkdwn(id)}\``,
    ),
  ]);
}

export function offsiteDoneView(r: OffsiteResult): SlackMessage {
  const how = r.already ? "copied and proven before" : `encrypted to ${r.recipients.join(", ")}, proven`;
  return message(`Off-site copy of ${r.id}: ${r.location}`, [
    section(`:lock: *Off-site ✓* \`${escapeMrkdwn(r.id)}\``),
    context(`\`${escapeMrkdwn(r.location)}\` · ${formatBytes(r.bytes)} · ${escapeMrkdwn(how)}`),
  ]);
}

export function offsiteFailedView(
  id: string,
  requestedBy: string,
  problem: string,
  hint: string,
  code: ErrorCode,
): SlackMessage {
  return failure(code, `Off-site copy of ${id} failed: ${problem}`, [
    section(
      `:x: *Off-site copy of \`${escapeMrkdwn(id)}\` failed* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`,
    ),
    context(`The backup on the bot's host is untouched. What to do: ${escapeMrkdwn(hint)}`),
  ]);
}

/** `/dbbackup list --offsite`: the bucket's whole copies per env, newest first (10 each). */
export function offsiteListView(r: OffsiteListResult, now: Date): SlackMessage {
  if (r.copies.length === 0)
    return message("No off-site copies", [
      section(`No off-site copies${r.env ? ` of *${r.env}*` : ""} in \`${escapeMrkdwn(r.offsite)}\`.`),
    ]);
  const blocks = [...new Set(r.copies.map((c) => c.env))].map((env) => {
    const rows = r.copies.filter((c) => c.env === env);
    const lines = rows
      .slice(0, 10)
      .map(
        (c) =>
          `\`${c.id}\` ${formatBytes(c.bytes)} · ${formatAge(now, c.createdAt)} · proven ${formatAge(now, c.provenAt)}`,
      );
    return section(
      `*${env}* in \`${escapeMrkdwn(r.offsite)}\`\n${lines.join("\n")}${rows.length > 10 ? `\n…and ${rows.length - 10} older` : ""}`,
    );
  });
  if (r.incomplete.length > 0)
    blocks.push(context(`:warning: ${r.incomplete.length} copies cut short (not restorable) are ignored.`));
  return message(`${r.copies.length} off-site copies`, blocks);
}
