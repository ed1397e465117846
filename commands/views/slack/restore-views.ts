import type { ErrorCode } from "../../../src/errors.js";
import { formatDuration } from "../../../src/format.js";
import { restoreAdvice } from "../../../src/restore/advice.js";
import { type ComparedKind, comparedLines } from "../../../src/restore/parity.js";
import {
  type Block,
  context,
  escapeMrkdwn,
  failure,
  message,
  red,
  type SlackMessage,
  section,
  who,
} from "./blocks.js";

/** A restore test's report in the channel: passed, FAILED (with what to do), or could not run. Pure. */

export interface RestoreTestSummary {
  ok: boolean;
  id: string;
  serverMajor: number;
  durationMs: number;
  summary: string;
  parity: { kind: string; name: string; expected: string; actual: string; result: string; note?: string }[];
  compared: ComparedKind[];
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
  const coverage = comparedLines(r.compared);
  if (coverage.length > 0) blocks.push(context(escapeMrkdwn(coverage.join(" · "))));
  if (!r.ok) blocks.push(context(`What to do: ${escapeMrkdwn(restoreAdvice(r.parity))}`));
  const text = `Restore test of ${r.id}: ${r.ok ? "passed" : "FAILED"} (${r.summary})`;
  return r.ok ? message(text, blocks) : red(text, blocks);
}

export function restoreTestFailedView(
  what: string,
  requestedBy: string,
  problem: string,
  hint: string,
  code: ErrorCode = "internal_error",
): SlackMessage {
  return failure(code, `Restore test of ${what} could not run: ${problem}`, [
    section(
      `:x: *Restore test of \`${escapeMrkdwn(what)}\` could not run* (asked by ${who(requestedBy)})\n${escapeMrkdwn(problem)}`,
    ),
    context(`What to do: ${escapeMrkdwn(hint)}`),
  ]);
}

export function restoreTestStartedView(what: string, requestedBy: string): SlackMessage {
  return message(`${requestedBy} started a restore test of ${what}`, [
    section(
      `:hourglass_flowing_sand: ${who(requestedBy)} started a restore test of \`${escapeMrkdwn(what)}\``,
    ),
  ]);
}
