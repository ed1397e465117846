import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import type { MaintenanceWindow } from "../../src/state/windows.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture, sql } from "../helpers/postgres.js";
import { blockAction, slashCommand } from "../helpers/slack-requests.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "guardrails-signing-secret-0123456789";
const CHANNEL = "C0GUARD01";
const ALICE = "U0ALICE01"; // a requester
const BOB = "U0BOB0001"; // a requester and the prod approver
const EVE = "U0EVE0001"; // neither

const HOUR = 3_600_000;

/** An instant as the words `/dbbackup upgrade` takes: ["2026-11-25", "05:30"] (UTC). */
function utcWords(at: Date): [string, string] {
  const iso = at.toISOString();
  return [iso.slice(0, 10), iso.slice(11, 16)];
}

/** Now + `hours`, on a whole minute (the declaration has minute precision). */
function aheadByHours(hours: number): Date {
  return new Date(Math.ceil((Date.now() + hours * HOUR) / 60_000) * 60_000);
}

interface Button {
  action_id: string;
  value: string;
  text: { text: string };
}

/** The buttons of a message as the user sees it (blocks, or the blocks of a red message's attachment). */
function buttons(body: { blocks?: unknown; attachments?: unknown }): Button[] {
  const blocks = [
    ...((body.blocks as { type: string; elements?: unknown[] }[] | undefined) ?? []),
    ...(
      (body.attachments as { blocks?: { type: string; elements?: unknown[] }[] }[] | undefined) ?? []
    ).flatMap((a) => a.blocks ?? []),
  ];
  return blocks
    .filter((b) => b.type === "actions")
    .flatMap((b) => (b.elements ?? []) as Button[])
    .filter((e) => (e as unknown as { type: string }).type === "button");
}

describe("guardrails through Slack: windows, nags, covered, diff, drills, retention", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: { dir: string; remove(): void };
  let bot: Bot;
  let events: string;
  let port: number;
  /** The guardrails' clock: tests move it. */
  let now = new Date();
  let liveVersion = "";
  const root = () => path.join(work.dir, "backups");
  const windowsFile = () => path.join(root(), ".state", "windows.json");

  // Shared across the tests (they run in order in this file).
  let stagingWindow: MaintenanceWindow | undefined;
  let stagingNag: { ts: string; button: Button } | undefined;
  let prodNag: { ts: string; button: Button } | undefined;
  let preUpgradeId = "";

  beforeAll(async () => {
    [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    await loadFixture(db.url(), "supabase");
    // As diff shows it: "PostgreSQL 15.18".
    liveVersion = /^PostgreSQL [\d.]+/.exec(
      (await sql<{ version: string }>(db.url(), "select version()"))[0]?.version ?? "",
    )?.[0] as string;
    work = workdir();
    port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: {
        DATABASE_URL_STAGING: db.url(),
        DATABASE_URL_PROD: db.url(),
        DBBACKUP_KEEP_ON_DEMAND: "1",
      },
      slackEnv: { DBBACKUP_PROD_APPROVERS: BOB, DBBACKUP_REQUESTERS: `${ALICE},${BOB}` },
      now: () => now,
    });
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(() => closeTestBot({ bot, slack, db, work }));

  const slash = async (text: string, user = ALICE) => {
    const r = await slashCommand(events, SECRET, { text, user_id: user, channel_id: CHANNEL });
    return {
      status: r.status,
      body: (r.body ? JSON.parse(r.body) : {}) as {
        response_type?: string;
        text?: string;
        blocks?: unknown[];
      },
    };
  };
  const click = (user: string, ts: string, button: Button) =>
    blockAction(events, SECRET, {
      action_id: button.action_id,
      value: button.value,
      text: button.text.text,
      user_id: user,
      channel_id: CHANNEL,
      message_ts: ts,
      ...(slack.messagePayload(CHANNEL, ts) ? { message: slack.messagePayload(CHANNEL, ts) } : {}),
    });
  const postCount = () => slack.callsTo("chat.postMessage").length;
  const postsSince = (n: number) => slack.callsTo("chat.postMessage").slice(n);
  /** The next chat.postMessage after the first `n` whose visible text (or fallback text) matches. */
  const nextPost = (n: number, match: RegExp | string, timeoutMs = 10_000) =>
    slack.waitForCall(
      "chat.postMessage",
      (c) => {
        if (slack.callsTo("chat.postMessage").indexOf(c) < n) return false;
        const seen = `${visibleText(c.body)}\n${String(c.body.text ?? "")}`;
        return typeof match === "string" ? seen.includes(match) : match.test(seen);
      },
      timeoutMs,
    );
  const windowsOnDisk = (): MaintenanceWindow[] =>
    existsSync(windowsFile())
      ? (JSON.parse(readFileSync(windowsFile(), "utf8")) as { windows: MaintenanceWindow[] }).windows
      : [];
  const windowsText = () => (existsSync(windowsFile()) ? readFileSync(windowsFile(), "utf8") : "");
  const auditLines = () =>
    readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  /** Until nothing runs: a finished backup starts jobs of its own (windows, retention). */
  const settle = async () => {
    for (let running = bot.running(); running.length > 0; running = bot.running())
      await Promise.allSettled(running);
  };

  it("declares a staging window from Slack (in channel, with its id), lists it, and refuses bad declarations", async () => {
    now = new Date();
    const starts = aheadByHours(30);
    const [date, time] = utcWords(starts);
    const before = postCount();
    const r = await slash(`upgrade staging ${date} ${time} UTC 2h kernel patch`);
    expect(r.status).toBe(200);
    expect(r.body.response_type).toBe("in_channel");
    const shown = visibleText(r.body);
    const id = /`(w[0-9a-f]{6})`/.exec(shown)?.[1];
    expect(id, shown).toBeDefined();
    expect(shown).toContain(`<@${ALICE}> declared a *staging upgrade window`);
    expect(shown).toContain(`|${date} ${time} UTC>`); // Slack's date token, with the UTC fallback
    expect(shown).toContain("(2h): kernel patch");
    expect(shown).toContain(`/dbbackup upgrade cancel ${id}`);

    // 30 h ahead is inside the first nag mark (48 h): the first reminder comes at once.
    const first = await nextPost(before, "staging upgrade in 30h");
    expect(buttons(first.body).map((b) => b.action_id)).toEqual(["guardrail_backup"]);
    await settle();

    const [w, ...others] = windowsOnDisk();
    expect(others).toEqual([]);
    expect(w).toMatchObject({
      id,
      env: "staging",
      startsAt: starts.toISOString(),
      endsAt: new Date(starts.getTime() + 2 * HOUR).toISOString(),
      note: "kernel patch",
      declaredBy: ALICE,
      cancelled: null,
      covered: null,
      nagsSent: ["48h"],
    });
    stagingWindow = w;

    const list = await slash("upgrade list");
    expect(list.body.response_type).toBe("ephemeral");
    const listed = visibleText(list.body);
    expect(listed).toContain(`\`${id}\` staging upgrade window`);
    expect(listed).toContain("kernel patch");
    expect(listed).toContain(`declared by <@${ALICE}>`);
    expect(listed).toContain("no pre-upgrade backup yet");

    const yesterday = utcWords(new Date(Date.now() - 24 * HOUR))[0];
    const onDisk = windowsText();
    const posted = postCount();
    for (const [text, problem] of [
      ["upgrade staging tomorrow 02:00 UTC", /"tomorrow" is not a date; write it as YYYY-MM-DD/],
      [`upgrade staging ${date} 02:00`, new RegExp(`Say which time zone ${date} 02:00 is in`)],
      [`upgrade qa ${date} 02:00 UTC`, /Unknown environment "qa"; known: prod, staging/],
      [`upgrade staging ${yesterday} 02:00 UTC`, new RegExp(`${yesterday} 02:00 UTC is already past`)],
    ] as const) {
      const bad = await slash(text);
      expect(bad.status, text).toBe(200);
      expect(bad.body.response_type, text).toBe("ephemeral");
      expect(bad.body.text, text).toMatch(problem);
      expect(visibleText(bad.body), text).toContain(":warning:");
    }
    expect(windowsText()).toBe(onDisk);
    expect(postCount()).toBe(posted);
  });

  it("nags at the 24 h mark with a backup button, says it once, then the 2 h nag an hour before the start", async () => {
    if (!stagingWindow) throw new Error("needs the window of the first test");
    const start = new Date(stagingWindow.startsAt).getTime();

    now = new Date(start - 24 * HOUR);
    let before = postCount();
    let report = await bot.runJob("windows");
    expect(report.notices.map((n) => (n.kind === "nag" ? n.level : n.kind))).toEqual(["24h"]);
    const [nag, ...extra] = postsSince(before);
    expect(extra).toEqual([]);
    if (!nag) throw new Error("no nag posted");
    expect(nag.body.channel).toBe(CHANNEL);
    const text = visibleText(nag.body);
    expect(text).toContain(":warning: *staging upgrade in 24h, and no pre-upgrade backup yet.*");
    expect(text).toContain("kernel patch");
    expect(text).toContain(`declared by <@${ALICE}>`);
    expect(text).toContain("/dbbackup staging pre-upgrade");
    const [button] = buttons(nag.body);
    expect(button?.action_id).toBe("guardrail_backup");
    expect(button?.text.text).toBe("Start a staging pre-upgrade backup");
    expect(JSON.parse(button?.value ?? "{}")).toEqual({ env: "staging", label: "pre-upgrade" });
    stagingNag = { ts: String(nag.response.ts), button: button as Button };

    // The same clock again: nothing new to say.
    before = postCount();
    report = await bot.runJob("windows");
    expect(report.notices).toEqual([]);
    expect(postCount()).toBe(before);

    now = new Date(start - HOUR);
    report = await bot.runJob("windows");
    expect(report.notices.map((n) => (n.kind === "nag" ? n.level : n.kind))).toEqual(["2h"]);
    const [urgent] = postsSince(before);
    expect(visibleText(urgent?.body ?? {})).toContain(
      "*staging upgrade in 1h, and no pre-upgrade backup yet.*",
    );
    expect(buttons(urgent?.body ?? {}).map((b) => b.action_id)).toEqual(["guardrail_backup"]);
    expect(windowsOnDisk()[0]?.nagsSent).toEqual(["48h", "24h", "2h"]);
  });

  it("the nag's button starts a real pre-upgrade backup; verified, the channel hears 'covered' at once; after the window, the diff", async () => {
    if (!stagingNag || !stagingWindow) throw new Error("needs the nag of the previous test");
    const before = postCount();
    const clicked = await click(ALICE, stagingNag.ts, stagingNag.button);
    expect(clicked.status).toBe(200);
    const started = await nextPost(before, `<@${ALICE}> started a staging backup (pre-upgrade)`);
    const done = await slack.waitForCall(
      "chat.update",
      (c) => c.body.ts === started.response.ts && visibleText(c.body).includes("staging backup verified"),
      60_000,
    );
    preUpgradeId = /`(\d{8}_\d{6}_staging_pre-upgrade)`/.exec(visibleText(done.body))?.[1] ?? "";
    expect(preUpgradeId).not.toBe("");

    // Nobody ran the job: the finished backup did.
    const covered = await nextPost(before, "is covered", 30_000);
    const coveredText = visibleText(covered.body);
    expect(coveredText).toContain(":white_check_mark: The *staging upgrade window");
    expect(coveredText).toContain(`\`${preUpgradeId}\` (${liveVersion.replace("PostgreSQL ", "")}, finished`);
    expect(coveredText).toContain(`by <@${ALICE}>) reached stage 2. No more reminders.`);
    await settle(); // retention after the backup
    expect(windowsOnDisk()[0]?.covered?.backupId).toBe(preUpgradeId);
    expect(auditLines()).toContainEqual(
      expect.objectContaining({ kind: "request", env: "staging", by: ALICE, from: "guardrail button" }),
    );

    let posted = postCount();
    let report = await bot.runJob("windows");
    expect(report.notices).toEqual([]);
    expect(postCount()).toBe(posted);

    now = new Date(new Date(stagingWindow.endsAt).getTime() + 60_000);
    report = await bot.runJob("windows");
    expect(report.notices.map((n) => n.kind)).toEqual(["window-diff"]);
    expect(report.problems).toEqual([]);
    const [diff, ...more] = postsSince(posted);
    expect(more).toEqual([]);
    if (!diff) throw new Error("no diff posted");
    expect(diff.body.text).toBe(`After the staging upgrade window: still ${liveVersion}`);
    // Covered and nothing lost: not a red message.
    expect(diff.body.attachments ?? []).toEqual([]);
    const diffText = visibleText(diff.body);
    expect(diffText).toContain(":mag: *After the staging upgrade window");
    expect(diffText).toContain(`\`${preUpgradeId}\``);
    expect(diffText).toContain("vs live");
    expect(diffText).toContain(`*Server* ${liveVersion} (unchanged)`);
    expect(diffText).toContain("*Extensions* none");
    expect(diffText).toContain("*Views* unchanged");
    expect(diffText).toContain("*Policies* unchanged per table");
    expect(diffText).not.toContain("No pre-upgrade backup covered this window");

    // Done with: the window says nothing more.
    posted = postCount();
    report = await bot.runJob("windows");
    expect(report.notices).toEqual([]);
    expect(postCount()).toBe(posted);
    expect(windowsOnDisk()[0]?.diffPostedAt).toBe(now.toISOString());
  });

  it("a prod nag's button asks for approval (Approve/Deny) and starts no backup until an approver approves", async () => {
    now = new Date();
    const starts = aheadByHours(30);
    const [date, time] = utcWords(starts);
    let before = postCount();
    const r = await slash(`upgrade prod ${date} ${time} UTC 90m 15.8 patch`);
    expect(r.body.response_type).toBe("in_channel");
    const id = /`(w[0-9a-f]{6})`/.exec(visibleText(r.body))?.[1] ?? "";
    expect(id).not.toBe("");
    const nag = await nextPost(before, "prod upgrade in 30h");
    await settle();
    const [button] = buttons(nag.body);
    expect(button?.action_id).toBe("guardrail_backup");
    expect(button?.text.text).toBe("Request a prod pre-upgrade backup");
    prodNag = { ts: String(nag.response.ts), button: button as Button };

    before = postCount();
    expect((await click(ALICE, prodNag.ts, prodNag.button)).status).toBe(200);
    const request = await nextPost(before, `<@${ALICE}> asks for a *prod backup (pre-upgrade)*`);
    expect(visibleText(request.body)).toContain("asked for from a dbbackup reminder");
    const actionIds = buttons(request.body).map((b) => b.action_id);
    expect(actionIds).toEqual(expect.arrayContaining(["approval_approve", "approval_deny"]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bot.running()).toEqual([]);
    expect(postsSince(before).map((c) => visibleText(c.body))).not.toContainEqual(
      expect.stringContaining("started a prod backup"),
    );
    expect(readdirSync(root()).filter((n) => n.includes("_prod"))).toEqual([]);

    // The approver approves: then the prod pre-upgrade backup runs, and it covers the window.
    const requestId = /"value":"([0-9a-f-]{36})"/.exec(JSON.stringify(request.body.blocks))?.[1];
    if (!requestId) throw new Error("no request id on the approval message");
    const approve = buttons(request.body).find((b) => b.action_id === "approval_approve") as Button;
    before = postCount();
    expect((await click(BOB, String(request.response.ts), { ...approve, value: requestId })).status).toBe(
      200,
    );
    const started = await nextPost(before, `<@${ALICE}> started a prod backup (pre-upgrade)`);
    await slack.waitForCall(
      "chat.update",
      (c) => c.body.ts === started.response.ts && visibleText(c.body).includes("prod backup verified"),
      60_000,
    );
    const covered = await nextPost(before, "is covered", 30_000);
    expect(visibleText(covered.body)).toContain("The *prod upgrade window");
    expect(visibleText(covered.body)).toContain("15.8 patch");
    await settle();

    const cancelled = await slash(`upgrade cancel ${id}`);
    expect(cancelled.body.response_type).toBe("in_channel");
    expect(visibleText(cancelled.body)).toContain(`<@${ALICE}> cancelled the *prod upgrade window`);
    expect(windowsOnDisk().find((w) => w.id === id)?.cancelled?.by).toBe(ALICE);
  });

  it("someone not on DBBACKUP_REQUESTERS clicking a nag button gets a private no, and nothing starts", async () => {
    if (!stagingNag || !prodNag) throw new Error("needs the nags of the earlier tests");
    const posted = postCount();
    const ephemerals = slack.callsTo("chat.postEphemeral").length;
    expect((await click(EVE, stagingNag.ts, stagingNag.button)).status).toBe(200);
    expect((await click(EVE, prodNag.ts, prodNag.button)).status).toBe(200);
    const deadline = Date.now() + 10_000;
    const toEve = () =>
      slack
        .callsTo("chat.postEphemeral")
        .slice(ephemerals)
        .filter((c) => c.body.user === EVE);
    while (toEve().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(toEve().map((c) => c.body.text)).toEqual([
      "You're not on the list of people who may ask dbbackup for backups.",
      "You're not on the list of people who may ask dbbackup for backups.",
    ]);
    expect(toEve().every((c) => c.body.channel === CHANNEL)).toBe(true);
    expect(bot.running()).toEqual([]);
    expect(postCount()).toBe(posted);
    expect(auditLines().filter((l) => l.by === EVE)).toEqual([]);
  });

  it("/dbbackup diff <id> live answers privately with the diff; a path instead of an id is a usage error", async () => {
    if (!preUpgradeId) throw new Error("needs the backup of the covered test");
    const ephemerals = slack.callsTo("chat.postEphemeral").length;
    const r = await slash(`diff ${preUpgradeId} live`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({}); // a bare ack: the diff follows privately
    const shown = await slack.waitForCall(
      "chat.postEphemeral",
      (c) => slack.callsTo("chat.postEphemeral").indexOf(c) >= ephemerals && c.body.user === ALICE,
      20_000,
    );
    expect(shown.body.channel).toBe(CHANNEL);
    const text = visibleText(shown.body);
    expect(text).toContain(`*Diff* \`${preUpgradeId}\` → \`live staging\``);
    expect(text).toContain(`*Server* ${liveVersion} (unchanged)`);
    expect(text).toContain("*Views* unchanged");
    expect(text).toContain("*Policies* unchanged per table");

    const count = slack.callsTo("chat.postEphemeral").length;
    const bad = await slash("diff ../../etc live");
    expect(bad.body.response_type).toBe("ephemeral");
    expect(bad.body.text).toMatch(/"\.\.\/\.\.\/etc" is not a backup id\. Use ids from \/dbbackup list/);
    const backwards = await slash(`diff live ${preUpgradeId}`);
    expect(backwards.body.text).toMatch(/"live" is not a backup id \(live goes second\)/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(slack.callsTo("chat.postEphemeral").length).toBe(count);
  });

  it("reminds of the quarter's restore drill; its button runs the real restore test, logged with the clicker; then quiet", async () => {
    now = new Date();
    const quarter = `${now.getUTCFullYear()} Q${Math.ceil((now.getUTCMonth() + 1) / 3)}`;
    let before = postCount();
    let report = await bot.runJob("drills");
    // Both envs have a verified backup and no drill on record.
    expect(report.notices).toEqual([
      expect.objectContaining({ kind: "drill-due", env: "prod", reason: "quarterly", quarter }),
      expect.objectContaining({ kind: "drill-due", env: "staging", reason: "quarterly", quarter }),
    ]);
    const reminders = postsSince(before);
    expect(reminders.map((c) => c.body.text)).toEqual([
      "prod restore drill due (quarterly)",
      "staging restore drill due (quarterly)",
    ]);
    const reminder = reminders[1];
    if (!reminder) throw new Error("no reminder posted");
    const text = visibleText(reminder.body);
    expect(text).toContain(`*${quarter}: time for this quarter's staging restore drill.*`);
    expect(text).toContain("There is no restore drill of staging on record.");
    const [button] = buttons(reminder.body);
    expect(button?.action_id).toBe("guardrail_restore_test");
    expect(button?.text.text).toBe("Run the staging restore test now");
    expect(JSON.parse(button?.value ?? "{}")).toEqual({ env: "staging" });

    before = postCount();
    expect((await click(BOB, String(reminder.response.ts), button as Button)).status).toBe(200);
    const started = await nextPost(before, `<@${BOB}> started a restore test of \`latest staging\``);
    const result = await slack.waitForCall("chat.update", (c) => c.body.ts === started.response.ts, 90_000);
    expect(visibleText(result.body)).toContain(
      `:white_check_mark: *Restore test passed* for \`${preUpgradeId}\``,
    );
    await settle();
    const drills = readFileSync(path.join(root(), ".state", "drills.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(drills).toEqual([
      expect.objectContaining({ by: BOB, env: "staging", backupId: preUpgradeId, ok: true }),
    ]);

    before = postCount();
    report = await bot.runJob("drills");
    expect(report.notices).toEqual([]);
    expect(postCount()).toBe(before);
  }, 120_000);

  it("after a second on-demand backup, retention deletes the first (keep 1), says so in the channel and audits it", async () => {
    now = new Date();
    const backup = async (label: string): Promise<string> => {
      const before = postCount();
      await slash(`staging ${label}`);
      const started = await nextPost(before, `started a staging backup (${label})`);
      const done = await slack.waitForCall(
        "chat.update",
        (c) => c.body.ts === started.response.ts && visibleText(c.body).includes("staging backup verified"),
        60_000,
      );
      const id = new RegExp(`\`(\\d{8}_\\d{6}_staging_${label})\``).exec(visibleText(done.body))?.[1];
      if (!id) throw new Error(`no id in ${visibleText(done.body)}`);
      return id;
    };
    const before = postCount();
    const first = await backup("nightly-a");
    await settle();
    expect(postsSince(before).map((c) => String(c.body.text))).not.toContainEqual(
      expect.stringContaining("Retention"),
    );
    // Backup ids have second resolution.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const afterFirst = postCount();
    const second = await backup("nightly-b");
    const pruned = await nextPost(afterFirst, /\nRetention deleted 1 backup\(s\)/, 30_000);
    await settle();
    const text = visibleText(pruned.body);
    expect(text).toContain(":broom: *Retention after the backup* deleted 1 backup,");
    expect(text).toContain(`\`${first}\``);
    expect(text).toContain("older than the last 1 on-demand backups");
    expect(text).not.toContain(second);
    expect(text).not.toContain(preUpgradeId);
    expect(auditLines()).toContainEqual(
      expect.objectContaining({ kind: "pruned", id: first, env: "staging", by: "after-backup" }),
    );
    const left = readdirSync(root()).filter((n) => !n.startsWith("."));
    expect(left).not.toContain(first);
    expect(left).toEqual(expect.arrayContaining([second, preUpgradeId]));
  }, 120_000);

  it("audits every guardrail message it posted as guardrail-posted, naming the notice", () => {
    // src/slack/app.ts passes the notice's kind as a field called `kind`, which replaces the audit
    // line's own kind: the lines read {"kind":"nag"} instead of {"kind":"guardrail-posted",…}.
    const lines = auditLines();
    const told = lines.filter((l) => l.kind === "guardrail-posted");
    for (const notice of ["nag", "covered", "window-diff", "drill-due", "pruned"])
      expect(
        told.some((l) => Object.values(l).includes(notice)),
        `no guardrail-posted line for ${notice}`,
      ).toBe(true);
    // And no line carries a notice's kind as its audit kind ("pruned" is both, so it isn't checked).
    const kinds = new Set(lines.map((l) => String(l.kind)));
    expect(["nag", "covered", "window-diff", "drill-due"].filter((k) => kinds.has(k))).toEqual([]);
  });
});
