import type { App } from "@slack/bolt";
import { z } from "zod/v3";
import { APPROVE_ACTION, DENY_ACTION } from "../../../../commands/views/slack/approval-views.js";
import type { ApprovalFlow } from "../../approval-flow.js";

export interface ApprovalButtonDeps {
  approvals: Pick<ApprovalFlow, "decide">;
  /** Where a refusal is told when the click came from no channel. */
  channel: string;
}

// The button carries only the request id; who clicked comes from the signed payload.
const approvalAction = z.object({ value: z.string().uuid() });

/** Approve and Deny on a prod backup request. */
export function register(app: App, deps: ApprovalButtonDeps): void {
  for (const [actionId, kind] of [
    [APPROVE_ACTION, "approve"],
    [DENY_ACTION, "deny"],
  ] as const) {
    app.action(actionId, async ({ ack, body, action }) => {
      await ack();
      const parsed = approvalAction.safeParse(action);
      if (!parsed.success) return;
      await deps.approvals.decide(parsed.data.value, body.user.id, kind, body.channel?.id ?? deps.channel);
    });
  }
}
