import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture } from "../helpers/postgres.js";
import { blockAction, slashCommand } from "../helpers/slack-requests.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "approval-signing-secret-0123456789";
const CHANNEL = "C0OPS0002";
const REQUESTER = "U0ALICE01";
const BOB = "U0BOB0001";
const CAROL = "U0CAROL01"; // an approver only through the user group S0LEADS01
const MALLORY = "U0MALLORY";
const CROWD = Array.from({ length: 20 }, (_, i) => `U0APP${String(i).padStart(4, "0")}`);

describe("prod approvals through Slack", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: { dir: string; remove(): void };
  let bot: Bot;
  let events: string;
  let port: number;

  const makeBot = () =>
    testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_PROD: db.url() },
      slackEnv: {
        DBBACKUP_PROD_APPROVERS: [BOB, "S0LEADS01", ...CROWD].join(","),
        DBBACKUP_APPROVAL_TTL: "1500ms",
      },
    });

  beforeAll(async () => {
    [slack, db] = await Promise.all([
      startFakeSlack({ userGroups: { S0LEADS01: [CAROL] } }),
      startScratchServer({ major: 15 }),
    ]);
    await loadFixture(db.url(), "supabase");
    work = workdir();
    port = await freePort();
    bot = makeBot();
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(() => closeTestBot({ bot, slack, db, work }));

  /** Asks for a prod backup; returns the approval message's ts and the request id its buttons carry. */
  async function ask(label: string): Promise<{ ts: string; id: string }> {
    const before = slack.callsTo("chat.postMessage").length;
    const r = await slashCommand(events, SECRET, {
      text: `prod ${label} before the 15.8 upgrade`,
      user_id: REQUESTER,
      channel_id: CHANNEL,
    });
    expect(r.status).toBe(200);
    const call = await slack.waitForCall(
      "chat.postMessage",
      (c) =>
        slack.callsTo("chat.postMessage").indexOf(c) >= before && visibleText(c.body).includes(`(${label})`),
      10_000,
    );
    const ts = String(call.response.ts);
    const blocks = JSON.stringify(slack.message(CHANNEL, ts)?.blocks ?? []);
    const id = /"value":"([0-9a-f-]{36})"/.exec(blocks)?.[1];
    if (!id) throw new Error(`no request id in ${blocks}`);
    return { ts, id };
  }

  const click = (who: string, ts: string, id: string, action = "approval_approve") =>
    blockAction(events, SECRET, {
      action_id: action,
      value: id,
      user_id: who,
      channel_id: CHANNEL,
      message_ts: ts,
    });

  const lastEphemeralTo = (user: string) => [...slack.ephemerals].reverse().find((e) => e.user === user);
  const startedProdBackups = () =>
    slack.callsTo("chat.postMessage").filter((c) => visibleText(c.body).includes("started a prod backup"))
      .length;

  it("posts the request with who, what, why, expiry and Approve/Deny; the requester can't approve it", async () => {
    const { ts, id } = await ask("self");
    const text = visibleText(slack.message(CHANNEL, ts) ?? {});
    expect(text).toContain(`<@${REQUESTER}> asks for a *prod backup (self)*`);
    expect(text).toContain("before the 15.8 upgrade");
    expect(text).toMatch(/expires \d\d:\d\d UTC/);
    expect(text).toContain("Approve");
    expect(JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).toContain('"confirm"');
    expect((await click(REQUESTER, ts, id)).status).toBe(200);
    await slack.waitForCall("chat.postEphemeral", (c) => c.body.user === REQUESTER, 5_000);
    expect(lastEphemeralTo(REQUESTER)?.text).toMatch(/someone else has to approve/);
    expect((await click(MALLORY, ts, id)).status).toBe(200);
    await slack.waitForCall("chat.postEphemeral", (c) => c.body.user === MALLORY, 5_000);
    expect(lastEphemeralTo(MALLORY)?.text).toMatch(/not one of the approvers/);
    expect(slack.message(CHANNEL, ts)?.updates).toBe(0);
  });

  it("an approver from a user group approves: buttons go, who and when are shown, the backup runs", async () => {
    const before = startedProdBackups();
    const { ts, id } = await ask("approved");
    await click(CAROL, ts, id);
    await slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    const text = visibleText(slack.message(CHANNEL, ts) ?? {});
    expect(text).toMatch(new RegExp(`Approved by <@${CAROL}> at \\d\\d:\\d\\d UTC`));
    expect(JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).not.toContain("approval_approve");
    await slack.waitForCall(
      "chat.update",
      (c) => visibleText(c.body).includes("prod backup verified"),
      60_000,
    );
    expect(startedProdBackups()).toBe(before + 1);
  });

  it("group membership is asked of Slack at the click: removed a minute ago, refused; Slack not answering, refused with why", async () => {
    const DAVE = "U0DAVE001";
    slack.setUserGroup("S0LEADS01", [CAROL, DAVE]);
    try {
      // Dave, in the group, approves (asked of Slack at the click)…
      const first = await ask("dave-approves");
      await click(DAVE, first.ts, first.id);
      await slack.waitForCall("chat.update", (c) => c.body.ts === first.ts, 5_000);
      expect(visibleText(slack.message(CHANNEL, first.ts) ?? {})).toMatch(
        new RegExp(`Approved by <@${DAVE}>`),
      );
      await slack.waitForCall(
        "chat.update",
        (c) =>
          visibleText(c.body).includes("(dave-approves)") &&
          visibleText(c.body).includes("prod backup verified"),
        60_000,
      );
      const { ts, id } = await ask("removed");
      // …then leaves it; his click a moment later is refused.
      slack.setUserGroup("S0LEADS01", [CAROL]);
      await click(DAVE, ts, id);
      await slack.waitForCall("chat.postEphemeral", (c) => c.body.user === DAVE, 5_000);
      expect(lastEphemeralTo(DAVE)?.text).toMatch(/not one of the approvers/);
      slack.setUserGroup("S0LEADS01", [CAROL, DAVE]);
      slack.failNext("usergroups.users.list", "fatal_error");
      await click(DAVE, ts, id);
      await slack.waitForCall(
        "chat.postEphemeral",
        (c) => c.body.user === DAVE && /not recorded/.test(String(c.body.text)),
        5_000,
      );
      expect(lastEphemeralTo(DAVE)?.text).toMatch(
        /Your click was not recorded: .*approvers' user group S0LEADS01 \(fatal_error\)/,
      );
      expect(slack.message(CHANNEL, ts)?.updates).toBe(0);
    } finally {
      slack.setUserGroup("S0LEADS01", [CAROL]);
    }
  });

  it("a denied request can't be revived", async () => {
    const { ts, id } = await ask("denied");
    await click(BOB, ts, id, "approval_deny");
    await slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    expect(visibleText(slack.message(CHANNEL, ts) ?? {})).toMatch(new RegExp(`Denied by <@${BOB}>`));
    await click(CAROL, ts, id);
    await slack.waitForCall("chat.postEphemeral", (c) => c.body.user === CAROL, 5_000);
    expect(lastEphemeralTo(CAROL)?.text).toMatch(/already denied by <@U0BOB0001>/);
  });

  it("20 approvers clicking at once start exactly one backup; the others hear who decided", async () => {
    const before = startedProdBackups();
    const { ts, id } = await ask("race");
    const clickedAt = Date.now();
    const results = await Promise.all(CROWD.map((u) => click(u, ts, id)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    // Clicks are acked before they are decided: wait for every decision to be told.
    const losers = () =>
      slack.ephemerals.filter(
        (e) => CROWD.includes(e.user) && /already approved by <@U0APP/.test(e.text ?? ""),
      );
    const deadline = Date.now() + 10_000;
    while (losers().length < 19 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(losers()).toHaveLength(19);
    await slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    await slack.waitForCall(
      "chat.postMessage",
      (c) => c.at >= clickedAt && visibleText(c.body).includes("started a prod backup (race)"),
      10_000,
    );
    await Promise.allSettled(bot.running());
    expect(startedProdBackups()).toBe(before + 1);
  });

  it("an expired request can't be approved, and the sweeper removes its buttons", async () => {
    const { ts, id } = await ask("expired");
    await new Promise((r) => setTimeout(r, 1_600));
    await click(BOB, ts, id);
    await slack.waitForCall(
      "chat.postEphemeral",
      (c) => c.body.user === BOB && /expired/.test(String(c.body.text)),
      5_000,
    );
    expect(await bot.sweepApprovals()).toBeGreaterThanOrEqual(1);
    expect(visibleText(slack.message(CHANNEL, ts) ?? {})).toMatch(
      /Expired at \d\d:\d\d UTC without approval/,
    );
    expect(JSON.stringify(slack.message(CHANNEL, ts)?.blocks)).not.toContain("approval_approve");
  });

  it("a pending request still works after the bot restarts", async () => {
    const { ts, id } = await ask("restart");
    await bot.stop();
    bot = makeBot();
    await bot.start();
    await click(BOB, ts, id);
    await slack.waitForCall("chat.update", (c) => c.body.ts === ts, 5_000);
    expect(visibleText(slack.message(CHANNEL, ts) ?? {})).toMatch(new RegExp(`Approved by <@${BOB}>`));
    await Promise.allSettled(bot.running());
  });
});
