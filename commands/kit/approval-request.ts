import type { webApi } from "@slack/bolt";
import { type Approval, ApprovalStore } from "../../src/state/approvals.js";
import { audit } from "../../src/state/audit.js";
import type { StateStore } from "../../src/state/store.js";
import { approvalView } from "../views/slack/approval-views.js";
import type { SlackSettings } from "./slack-settings.js";

type NewApproval = Omit<Parameters<ApprovalStore["create"]>[0], "ttlMs" | "now">;

/**
 * A request for a second person: stored, audited, posted to the channel with its buttons, and its
 * message remembered (so a decision or expiry updates it). The bot and a waiting terminal both ask so.
 */
export async function postApprovalRequest(
  client: webApi.WebClient,
  settings: Pick<SlackSettings, "channel" | "minApprovers" | "approvalTtlMs">,
  state: StateStore,
  input: NewApproval,
  auditExtra: Record<string, string> = {},
): Promise<Approval> {
  const approvals = new ApprovalStore(state);
  const approval = await approvals.create({ ...input, ttlMs: settings.approvalTtlMs });
  void audit(state, "approval-requested", {
    request: approval.id,
    env: approval.env,
    label: approval.label,
    by: approval.requestedBy,
    reason: approval.reason,
    ...auditExtra,
  });
  const posted = await client.chat.postMessage({
    channel: settings.channel,
    ...approvalView(approval, settings.minApprovers),
  });
  if (posted.ts) await approvals.setMessage(approval.id, settings.channel, posted.ts);
  return approval;
}
