import { rowAlarms, rowSummary } from "../../../src/backup/row-changes.js";
import { formatExtensionChanges } from "../../../src/format.js";
import type { DiffResult } from "../../diff.js";
import { type Block, escapeMrkdwn, message, red, type SlackMessage, section } from "./blocks.js";

/** The post-upgrade sanity diff: a lost security_invoker turns the message red. */
export function diffBlocks(d: DiffResult): Block[] {
  const lines = [
    `*Server* ${d.version.changed ? `${escapeMrkdwn(d.version.before)} → *${escapeMrkdwn(d.version.after)}*` : `${escapeMrkdwn(d.version.after)} (unchanged)`}`,
    `*Extensions* ${escapeMrkdwn(formatExtensionChanges(d.extensions))}`,
  ];
  const v = d.views;
  if (v.added.length + v.removed.length + v.changed.length === 0) lines.push("*Views* unchanged");
  for (const name of v.added) lines.push(`*Views* +\`${escapeMrkdwn(name)}\``);
  for (const name of v.removed) lines.push(`*Views* −\`${escapeMrkdwn(name)}\``);
  for (const c of v.changed) {
    const text = `\`${escapeMrkdwn(c.view)}\` ${escapeMrkdwn(c.before)} → ${escapeMrkdwn(c.after)}`;
    lines.push(
      c.lostSecurityInvoker
        ? `:rotating_light: *Views* ${text}: *security_invoker lost*: anon/authenticated now read it with the owner's rights, past RLS`
        : `*Views* ${text}`,
    );
  }
  if (d.policies === undefined) lines.push("*Policies* (not recorded in the older backup)");
  else if (d.policies.length === 0) lines.push("*Policies* unchanged per table");
  else
    for (const p of d.policies)
      lines.push(
        `*Policies* \`${escapeMrkdwn(p.table)}\` ${p.before} → ${p.after}${p.after < p.before ? " :warning: fewer" : ""}`,
      );
  if (d.rows) {
    lines.push(`*Rows* ${escapeMrkdwn(rowSummary(d.rows))}`);
    const alarms = rowAlarms(d.rows);
    for (const alarm of alarms.slice(0, 10))
      lines.push(`:rotating_light: *Rows* ${escapeMrkdwn(alarm)} (more than ${d.rows.dropPercent}% lost)`);
    if (alarms.length > 10) lines.push(`…and ${alarms.length - 10} more tables flagged`);
  }
  return [section(lines.join("\n"))];
}

export function diffView(d: DiffResult): SlackMessage {
  const head = section(`*Diff* \`${escapeMrkdwn(d.from)}\` → \`${escapeMrkdwn(d.to)}\``);
  const text = `diff ${d.from} → ${d.to}${d.securityInvokerLost ? `: ${d.securityInvokerLost} view(s) lost security_invoker` : ""}`;
  return d.securityInvokerLost > 0
    ? red(text, [head, ...diffBlocks(d)])
    : message(text, [head, ...diffBlocks(d)]);
}
