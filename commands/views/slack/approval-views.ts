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

export const APPROVE_ACTION = "approval_approve";
export const DENY_ACTION = "approval_deny";

export interface ApprovalView {
  id: string;
  kind?: "backup" | "restore";
  what?: string | null;
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

/** The request, with Approve (behind a confirm dialog) and Deny while it is pending; who decided after. */
export function approvalView(a: ApprovalView, minApprovers: number): SlackMessage {
  const what =
    a.kind === "restore"
      ? `*${escapeMrkdwn(a.what ?? `restore into ${a.env}`)}* (from a terminal, which runs it once approved)`
      : `a *${a.env} backup${a.label ? ` (${escapeMrkdwn(a.label)})` : ""}*`;
  const head = `:lock: ${who(a.requestedBy)} asks for ${what}${a.reason ? `\n>${escapeMrkdwn(a.reason)}` : ""}`;
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
            action_id: APPROVE_ACTION,
            text: { type: "plain_text", text: "Approve" },
            style: "primary",
            value: a.id,
            confirm: {
              title: {
                type: "plain_text",
                text: a.kind === "restore" ? "Approve the restore?" : `Approve the ${a.env} backup?`,
              },
              text: {
                type: "mrkdwn",
                text:
                  a.kind === "restore"
                    ? "It starts right away and replaces what the target database holds (a safety backup of it is taken first)."
                    : `It starts right away and reads the whole ${a.env} database.`,
              },
              confirm: { type: "plain_text", text: "Approve" },
              deny: { type: "plain_text", text: "Cancel" },
            },
          },
          {
            type: "button",
            action_id: DENY_ACTION,
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
