import type { ErrorCode } from "../../../src/errors.js";
import { formatBytes } from "../../../src/format.js";
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
