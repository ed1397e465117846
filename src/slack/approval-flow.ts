import type { App } from "@slack/bolt";
import type { Logger } from "pino";
import { postApprovalRequest } from "../../commands/kit/approval-request.js";
import type { SlackSettings } from "../../commands/kit/slack-settings.js";
import type { ApprovalAsk } from "../../commands/kit/verb.js";
import { approvalView } from "../../commands/views/slack/approval-views.js";
import { isDbBackupError } from "../errors.js";
import { type Approval, ApprovalStore } from "../state/approvals.js";
import { audit } from "../state/audit.js";
import type { StateStore } from "../state/store.js";
import type { SlackDirectory } from "./directory.js";

export interface ApprovalFlowDeps {
  app: App;
  settings: SlackSettings;
  logger: Logger;
  state: StateStore;
  approvers: SlackDirectory;
  /** Text for Slack: no path on the bot's host. */
  say(text: string): string;
  /** An approved request's backup, started in the background. */
  startApproved(approval: Approval, approvedBy: string): void;
}

export interface ApprovalFlow {
  pending(): Promise<Approval[]>;
  /** Posts a request for approval in the channel, with its buttons. */
  request(
    userId: string,
    env: string,
    label: string | null,
    reason: string | null,
    restore?: ApprovalAsk["restore"],
  ): Promise<void>;
  /** One Approve or Deny click: a compare-and-set on the stored request; the clicker hears a refusal. */
  decide(requestId: string, clicker: string, kind: "approve" | "deny", channel: string): Promise<void>;
  /** Pending requests past their time lose their buttons (a sweeper runs this; tests call it). */
  sweep(now?: Date): Promise<number>;
}

/**
 * Prod approvals: the request with Approve (behind a confirm dialog) and Deny, each click one
 * compare-and-set on the stored request; identity is the clicker from the signed payload, the button
 * carries only the request id. Expired requests lose their buttons.
 */
export function createApprovalFlow(deps: ApprovalFlowDeps): ApprovalFlow {
  const { app, settings, logger, state, approvers } = deps;
  const approvals = new ApprovalStore(state);
  const tell = (channel: string, user: string, text: string) =>
    app.client.chat.postEphemeral({ channel, user, text });

  async function show(approval: Approval): Promise<void> {
    if (!approval.channel || !approval.ts) return;
    await app.client.chat.update({
      channel: approval.channel,
      ts: approval.ts,
      ...approvalView(approval, settings.minApprovers),
    });
  }

  async function decide(requestId: string, clicker: string, kind: "approve" | "deny", channel: string) {
    let decision: Awaited<ReturnType<typeof approvals.decide>>;
    try {
      // Who may approve is asked of Slack at the click, not taken from a list kept since.
      const isApprover = await approvers.includesNow(clicker);
      decision = await approvals.decide(requestId, clicker, kind, {
        approvers: new Set(isApprover ? [clicker] : []),
        minApprovers: settings.minApprovers,
      });
    } catch (error) {
      // The click is refused, and the clicker hears why: never approved on a state we couldn't read.
      logger.error({ err: error }, "deciding an approval failed");
      const why = isDbBackupError(error)
        ? deps.say(error.message)
        : "dbbackup failed unexpectedly (the bot's log has the details).";
      await tell(channel, clicker, `Your click was not recorded: ${why}`).catch(() => {});
      return;
    }
    void audit(state, decision.outcome === "recorded" ? "approved" : decision.outcome, {
      request: requestId,
      by: clicker,
      ...(decision.outcome === "refused" ? { reason: decision.reason } : {}),
    });
    if (decision.outcome === "refused") {
      await tell(channel, clicker, decision.reason);
      return;
    }
    await show(decision.approval);
    if (decision.outcome === "approved") deps.startApproved(decision.approval, clicker);
  }

  return {
    pending: () => approvals.pending(),
    decide,
    async request(userId, env, label, reason, restore) {
      await postApprovalRequest(app.client, settings, state, {
        env,
        label,
        reason,
        requestedBy: userId,
        ...(restore ? { kind: "restore" as const, what: restore.what, args: restore.args } : {}),
      });
    },
    async sweep(now = new Date()) {
      const expired = await approvals.expire(now);
      for (const a of expired) void audit(state, "expired", { request: a.id, env: a.env, by: a.requestedBy });
      for (const a of expired)
        await show(a).catch((error: unknown) =>
          logger.warn({ err: error }, "expiring an approval message failed"),
        );
      return expired.length;
    },
  };
}
