import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BACKUP_NOW_ACTION, DRILL_NOW_ACTION } from "../../../../commands/views/slack/guardrail-views.js";
import { register as backupNow } from "../../../../src/slack/listeners/actions/backup-now.js";
import { register as drillNow } from "../../../../src/slack/listeners/actions/drill-now.js";
import { type ListenerApp, listenerApp } from "../../../helpers/listener-app.js";
import { blockAction } from "../../../helpers/slack-requests.js";
import { stateOf } from "../../../helpers/state.js";

const CHANNEL = "C0OPS00001";
const ALICE = "U0ALICE001";
const MALLORY = "U0MALLORY1";

describe("the reminders' buttons (back up now, run the drill now), registered alone on a Bolt app", () => {
  let harness: ListenerApp;
  let root: string;
  const asked: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "dbbackup-guardrail-buttons-"));
    const common = {
      isEnv: (env: string) => ["staging", "prod"].includes(env),
      channel: CHANNEL,
      whoMayAsk: async (user: string) => (user === MALLORY ? "You're not on the list." : undefined),
    };
    harness = await listenerApp((app) => {
      backupNow(app, {
        ...common,
        state: stateOf(root),
        approvalEnvs: ["prod"],
        requestApproval: async (user, env, label, reason) => {
          asked.push(`approval ${user} ${env} ${label} (${reason})`);
        },
        startBackup: (user, env, label, askedIn) =>
          asked.push(`backup ${user} ${env} ${label} in ${askedIn}`),
      });
      drillNow(app, { ...common, startRestoreTest: (user, env) => asked.push(`drill ${user} ${env}`) });
    });
  });
  afterAll(async () => {
    await harness?.close();
    rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    asked.length = 0;
  });

  const auditLines = (): Record<string, unknown>[] => {
    const file = path.join(root, ".state", "audit.jsonl");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  const click = (action: string, user: string, value: string) =>
    blockAction(harness.eventsUrl, harness.signingSecret, {
      action_id: action,
      value,
      user_id: user,
      channel_id: CHANNEL,
      message_ts: "1700000000.000100",
    });

  it("back up now: staging starts a backup in the channel it was clicked in; prod asks for approval", async () => {
    await click(BACKUP_NOW_ACTION, ALICE, JSON.stringify({ env: "staging", label: "pre-upgrade" }));
    await click(BACKUP_NOW_ACTION, ALICE, JSON.stringify({ env: "prod", label: null }));
    await expect.poll(() => asked.length, { timeout: 5_000 }).toBe(2);
    expect(asked).toEqual([
      `backup ${ALICE} staging pre-upgrade in ${CHANNEL}`,
      `approval ${ALICE} prod null (asked for from a dbbackup reminder)`,
    ]);
    const requests = () =>
      auditLines()
        .filter((line) => line.kind === "request")
        .map((r) => [r.env, r.by, r.from]);
    await expect.poll(requests, { timeout: 5_000 }).toEqual([
      ["staging", ALICE, "guardrail button"],
      ["prod", ALICE, "guardrail button"],
    ]);
  });

  it("run the drill now starts a restore test of that env", async () => {
    await click(DRILL_NOW_ACTION, ALICE, JSON.stringify({ env: "staging" }));
    await expect.poll(() => asked, { timeout: 5_000 }).toEqual([`drill ${ALICE} staging`]);
  });

  it("someone not allowed to ask is told so privately, and nothing starts", async () => {
    await click(BACKUP_NOW_ACTION, MALLORY, JSON.stringify({ env: "staging" }));
    await harness.slack.waitForCall("chat.postEphemeral", (c) => c.body.user === MALLORY, 5_000);
    expect(harness.slack.ephemerals.at(-1)?.text).toBe("You're not on the list.");
    expect(asked).toEqual([]);
  });

  it("a forged value (an unknown env, a label of its own, not JSON) starts nothing", async () => {
    for (const value of [
      JSON.stringify({ env: "billing" }),
      JSON.stringify({ env: "staging", label: "anything" }),
      "staging",
      "x".repeat(300),
    ]) {
      expect((await click(BACKUP_NOW_ACTION, ALICE, value)).status).toBe(200);
      expect((await click(DRILL_NOW_ACTION, ALICE, value)).status).toBe(200);
    }
    expect(asked).toEqual([]);
    expect(harness.slack.callsTo("chat.postEphemeral").filter((c) => c.body.user === ALICE)).toEqual([]);
  });
});
