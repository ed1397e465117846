import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import type { Bot } from "../../src/slack/app.js";
import { runCli, startCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { loadFixture, sql } from "../helpers/postgres.js";
import { blockAction } from "../helpers/slack-requests.js";
import { closeTestBot, testBot } from "../helpers/test-bot.js";

const SECRET = "restore-approval-secret-0123456789";
const CHANNEL = "C0OPS0001";
const BOB = "U0BOB0001";
const CAROL = "U0CAROL01";

describe("an in-place restore from the terminal waits for a second person in Slack, then keeps a way back", () => {
  let slack: FakeSlack;
  let db: ScratchServer;
  let work: ReturnType<typeof workdir>;
  let bot: Bot;
  let events: string;
  let id: string;
  let eventsAtBackup: number;
  const slackEnv = () => ({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    DBBACKUP_CHANNEL: CHANNEL,
  });

  beforeAll(async () => {
    [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    await loadFixture(db.url(), "supabase");
    work = workdir({ DATABASE_URL_STAGING: db.url() });
    const port = await freePort();
    bot = testBot({
      slack,
      port,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: db.url() },
      slackEnv: { DBBACKUP_PROD_APPROVERS: `${BOB},${CAROL}` },
    });
    await bot.start();
    events = `http://127.0.0.1:${port}/slack/events`;
    const backup = await runCli(["staging", "known-good"], { cwd: work.dir });
    expect(backup.exitCode, backup.stderr).toBe(0);
    id = readdirSync(path.join(work.dir, "backups")).find((n) => n.endsWith("_known-good")) ?? "";
    eventsAtBackup = await eventCount();
    // What happened after the backup: the in-place restore undoes it, and the safety backup brings it back.
    await sql(db.url(), "delete from public.events");
  });
  afterAll(() => closeTestBot({ bot, slack, db, work }));

  const eventCount = async () =>
    Number((await sql<{ n: string }>(db.url(), "select count(*)::text as n from public.events"))[0]?.n);
  const tables = async () =>
    (
      await sql<{ t: string }>(
        db.url(),
        "select tablename as t from pg_tables where schemaname = 'public' order by 1",
      )
    ).map((r) => r.t);

  /** Starts the restore and answers the request it posts with `action` as BOB; resolves with the CLI's result. */
  async function restoreWith(
    args: string[],
    action: "approval_approve" | "approval_deny",
    options: {
      env?: Record<string, string>;
      before?: (click: (user: string) => Promise<unknown>) => Promise<void>;
    } = {},
  ) {
    const before = slack.callsTo("chat.postMessage").length;
    const running = startCli(["restore", ...args], {
      cwd: work.dir,
      env: { ...slackEnv(), ...options.env },
      timeoutMs: 180_000,
    });
    const request = await slack.waitForCall(
      "chat.postMessage",
      (c) =>
        slack.callsTo("chat.postMessage").indexOf(c) >= before &&
        /asks for \*restore/.test(visibleText(c.body)),
      60_000,
    );
    const value = /"value":"([0-9a-f-]{36})"/.exec(JSON.stringify(request.body.blocks))?.[1] ?? "";
    const clickAs = (user: string, id = action) =>
      blockAction(events, SECRET, {
        action_id: id,
        value,
        user_id: user,
        channel_id: CHANNEL,
        message_ts: String(request.response.ts),
      });
    await options.before?.((user) => clickAs(user, "approval_approve"));
    const click = await clickAs(options.env?.DBBACKUP_SLACK_USER === BOB ? CAROL : BOB);
    expect(click.status).toBe(200);
    const r = await running;
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), request };
  }

  it("with DBBACKUP_SLACK_USER the channel shows who asked, and they can't approve their own", async () => {
    const r = await restoreWith(
      [id, "--to", "staging", "--in-place", "--confirm", "postgres"],
      "approval_deny",
      {
        env: { DBBACKUP_SLACK_USER: BOB },
        async before(click) {
          await click(BOB);
          await slack.waitForCall(
            "chat.postEphemeral",
            (c) => c.body.user === BOB && /You asked for this restore/.test(String(c.body.text)),
            10_000,
          );
        },
      },
    );
    expect(visibleText(r.request.body)).toContain(`<@${BOB}> asks for`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`denied in Slack by ${CAROL}`);
  });

  it("denied: nothing changes", async () => {
    const before = await tables();
    const r = await restoreWith(
      [id, "--to", "staging", "--in-place", "--confirm", "postgres"],
      "approval_deny",
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`The restore was denied in Slack by ${BOB}`);
    expect(await tables()).toEqual(before);
  });

  it("approved: a pinned safety backup first, the restore, parity; and the printed command puts it back", async () => {
    expect(eventsAtBackup).toBeGreaterThan(0);
    expect(await eventCount()).toBe(0);
    const r = await restoreWith(
      [id, "--to", "staging", "--in-place", "--confirm", "postgres"],
      "approval_approve",
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(visibleText(r.request.body)).toContain(`restore ${id} into postgres`);
    expect(r.stdout).toMatch(new RegExp(`✔ ${id} restored into`));
    expect(await eventCount()).toBe(eventsAtBackup);
    const back = /dbbackup restore (\S+) --to staging --in-place --confirm postgres/.exec(r.stdout);
    expect(back, r.stdout).not.toBeNull();
    const safety = back?.[1] ?? "";
    expect(safety).toMatch(/_staging_pre-restore$/);
    const list = await runCli(["list", "staging"], { cwd: work.dir });
    expect(list.stdout).toMatch(new RegExp(`${safety}.*pinned: safety backup before restoring ${id}`));
    const undo = await restoreWith(
      [safety, "--to", "staging", "--in-place", "--confirm", "postgres"],
      "approval_approve",
    );
    expect(undo.exitCode, undo.stdout + undo.stderr).toBe(0);
    expect(await eventCount()).toBe(0);
    const audit = readFileSync(path.join(work.dir, "backups", ".state", "audit.jsonl"), "utf8");
    expect(audit).toMatch(
      new RegExp(
        `"kind":"restore-started","backup":"${id}","into":"staging","inPlace":true,"by":"tester","approvedBy":"${BOB}"`,
      ),
    );
    expect(audit).toMatch(
      new RegExp(`"kind":"restore-finished","backup":"${id}".*"ok":true,"safety":"${safety}"`),
    );
    expect(audit).not.toContain("postgres:");
  });
});
