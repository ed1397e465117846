import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSlackSettings } from "../../../../commands/kit/slack-settings.js";
import { createLogger } from "../../../../src/log.js";
import { createApprovalFlow } from "../../../../src/slack/approval-flow.js";
import { SlackDirectory } from "../../../../src/slack/directory.js";
import { register } from "../../../../src/slack/listeners/actions/approval-buttons.js";
import type { Approval } from "../../../../src/state/approvals.js";
import { visibleText } from "../../../helpers/fake-slack.js";
import { type ListenerApp, listenerApp } from "../../../helpers/listener-app.js";
import { blockAction } from "../../../helpers/slack-requests.js";
import { stateOf } from "../../../helpers/state.js";

const CHANNEL = "C0OPS00001";
const ALICE = "U0ALICE001";
const BOB = "U0BOB00001";

describe("the Approve and Deny buttons, registered alone on a Bolt app", () => {
  let harness: ListenerApp;
  let root: string;
  const started: { approval: Approval; by: string }[] = [];
  let flow: ReturnType<typeof createApprovalFlow>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "dbbackup-approval-buttons-"));
    harness = await listenerApp((app) => {
      const settings = loadSlackSettings({
        SLACK_BOT_TOKEN: "xoxb-0000-listener-test",
        SLACK_SIGNING_SECRET: "signing-secret-not-used-here-0123",
        DBBACKUP_CHANNEL: CHANNEL,
        DBBACKUP_PROD_APPROVERS: BOB,
      });
      flow = createApprovalFlow({
        app,
        settings,
        logger: createLogger("silent"),
        state: stateOf(root),
        approvers: new SlackDirectory(app.client, settings.approvers, createLogger("silent")),
        say: (text) => text,
        startApproved: (approval, by) => started.push({ approval, by }),
      });
      register(app, { approvals: flow, channel: CHANNEL });
    });
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A request for a prod backup as the flow posts it: its message's ts and the id its buttons carry. */
  async function requested(label: string) {
    await flow.request(ALICE, "prod", label, "before the upgrade");
    const message = harness.slack.messages.at(-1);
    const id = /"value":"([0-9a-f-]{36})"/.exec(JSON.stringify(message?.blocks))?.[1];
    if (!message || !id) throw new Error("no request posted");
    return { ts: message.ts, id };
  }
  const click = (user: string, ts: string, value: string, action = "approval_approve") =>
    blockAction(harness.eventsUrl, harness.signingSecret, {
      action_id: action,
      value,
      user_id: user,
      channel_id: CHANNEL,
      message_ts: ts,
    });

  it("Approve by an approver updates the message and starts the backup, once", async () => {
    const { ts, id } = await requested("pre-upgrade");
    expect((await click(BOB, ts, id)).status).toBe(200);
    await harness.slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    expect(visibleText(harness.slack.message(CHANNEL, ts) ?? {})).toMatch(
      new RegExp(`Approved by <@${BOB}>`),
    );
    await expect
      .poll(() => started.map((s) => [s.approval.id, s.by]), { timeout: 5_000 })
      .toEqual([[id, BOB]]);
    await click(BOB, ts, id);
    await harness.slack.waitForCall("chat.postEphemeral", (c) => c.body.user === BOB, 5_000);
    expect(started).toHaveLength(1);
  });

  it("the requester's own click is refused privately; Deny closes the request", async () => {
    const { ts, id } = await requested("denied");
    await click(ALICE, ts, id);
    await harness.slack.waitForCall("chat.postEphemeral", (c) => c.body.user === ALICE, 5_000);
    expect(harness.slack.ephemerals.at(-1)?.text).toMatch(/someone else has to approve/);
    await click(BOB, ts, id, "approval_deny");
    await harness.slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    expect(visibleText(harness.slack.message(CHANNEL, ts) ?? {})).toMatch(new RegExp(`Denied by <@${BOB}>`));
    expect(started.map((s) => s.approval.id)).not.toContain(id);
  });

  it("a button value that is not a request id changes nothing", async () => {
    const { ts } = await requested("forged");
    const calls = harness.slack.calls.length;
    expect((await click(BOB, ts, "../../etc/passwd")).status).toBe(200);
    expect(harness.slack.calls.length).toBe(calls);
    expect(harness.slack.message(CHANNEL, ts)?.updates).toBe(0);
  });
});
