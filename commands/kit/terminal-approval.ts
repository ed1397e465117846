import { setTimeout as sleep } from "node:timers/promises";
import { webApi } from "@slack/bolt";
import type { Config } from "../../src/config.js";
import { readSettings } from "../../src/config.js";
import { DbBackupError } from "../../src/errors.js";
import { ApprovalStore } from "../../src/state/approvals.js";
import { stateFor } from "../../src/state/open.js";
import { hhmm } from "../views/slack/blocks.js";
import { postApprovalRequest } from "./approval-request.js";
import { loadSlackPostingSettings, webClientOptions } from "./slack-settings.js";

export interface ApprovalAsk {
  env: string;
  /** "restore <id> into busy at …, in place" */
  what: string;
  /** "a restore into prod", for the refusal when nobody can be asked. */
  needs: string;
  requestedBy: string;
  signal?: AbortSignal | undefined;
  /** A line for the person waiting. */
  onNote?: (line: string) => void;
}

/**
 * From the terminal, a second person's approval is asked for in the bot's channel (the same request,
 * buttons and rules as the bot's own) and waited for; the running bot takes the click. With no bot
 * settings here, the request is refused with the reason. Returns who approved.
 */
export async function awaitApprovalInSlack(config: Config, ask: ApprovalAsk): Promise<string> {
  const settings = loadSlackPostingSettings(readSettings());
  if (!settings)
    throw new DbBackupError(
      "restore_needs_approval",
      `${ask.needs[0]?.toUpperCase()}${ask.needs.slice(1)} needs a second person's approval, given in Slack, and this host has no bot settings (SLACK_BOT_TOKEN, DBBACKUP_CHANNEL) to ask with.`,
      "Run it on the bot's host (or with its settings), where the request is posted to the channel and waited for; nothing was changed.",
    );
  const state = stateFor(config);
  const client = new webApi.WebClient(settings.botToken, webClientOptions(settings.apiUrl));
  const approval = await postApprovalRequest(
    client,
    settings,
    state,
    {
      env: ask.env,
      label: null,
      reason: null,
      requestedBy: slackUserOf(ask.requestedBy),
      kind: "restore",
      what: ask.what,
      runBy: "terminal",
    },
    { via: "terminal", what: ask.what },
  );
  ask.onNote?.(`Waiting for a second person to approve in Slack (expires ${hhmm(approval.expiresAt)})…`);
  return waitForDecision(
    new ApprovalStore(state),
    approval.id,
    new Date(approval.expiresAt).getTime(),
    ask.signal,
  );
}

async function waitForDecision(
  approvals: ApprovalStore,
  id: string,
  expiresAt: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  // Bounded by the request's expiry: the bot's sweeper marks it expired, and we stop at that time anyway.
  while (Date.now() < expiresAt) {
    if (signal?.aborted)
      throw new DbBackupError("cancelled", "Cancelled while waiting for approval.", "Nothing was changed.");
    const current = await approvals.get(id);
    if (current?.status === "approved") return current.decidedBy ?? "";
    if (current?.status === "denied")
      throw new DbBackupError(
        "restore_denied",
        `The restore was denied in Slack by ${current.decidedBy ?? "an approver"}.`,
        "Nothing was changed.",
      );
    if (current?.status === "expired") break;
    await sleep(500, undefined, signal ? { signal } : {}).catch(() => {});
  }
  throw new DbBackupError(
    "restore_denied",
    "Nobody approved the restore in time; the request expired.",
    "Ask again when an approver is around; nothing was changed.",
  );
}

/**
 * The person at the terminal as Slack knows them (DBBACKUP_SLACK_USER=U…): then the channel shows
 * who asked, and they can't approve their own request. Without it, the terminal's user name.
 */
function slackUserOf(requestedBy: string): string {
  const id = readSettings().DBBACKUP_SLACK_USER?.trim();
  if (id === undefined) return requestedBy;
  if (!/^[UW][A-Z0-9]{2,}$/.test(id))
    throw new DbBackupError(
      "config_invalid",
      "DBBACKUP_SLACK_USER must be your Slack member ID (U…, from your profile → ⋮ → Copy member ID).",
      "Fix or unset it; nothing was changed.",
    );
  return id;
}
