import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { ApprovalStore } from "../../src/state/approvals.js";
import { PgStateStore } from "../../src/state/pg-store.js";
import { type BotProcess, killAll, startBotProcess } from "../helpers/bot-process.js";
import { workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { createDatabase, loadFixture } from "../helpers/postgres.js";
import { dbbackupWaitingOnLocks, holdLock, waitFor, waitForAsync } from "../helpers/servers.js";
import {
  blockAction,
  nowSeconds,
  signedRequest,
  slashCommand,
  slashCommandBody,
} from "../helpers/slack-requests.js";
import { tcpProxy } from "../helpers/tcp-proxy.js";

/**
 * Three bot processes on three hosts' worth of folders, sharing nothing but a state database
 * (DBBACKUP_STATE_URL): approvals, replays and env locks hold across them.
 */

const SECRET = "replicas-pg-signing-secret-0123456789";
const CHANNEL = "C0OPS0010";
const REQUESTER = "U0REQ0001";
const CROWD = Array.from({ length: 20 }, (_, i) => `U0APR${String(i).padStart(4, "0")}`);

interface AuditLine {
  kind: string;
  [field: string]: unknown;
}

describe("three bot replicas sharing a Postgres state database", () => {
  let server: ScratchServer;
  let slack: FakeSlack;
  let stateUrl: string;
  let works: { dir: string; remove(): void }[] = [];
  let bots: BotProcess[] = [];
  let appUrl: string;
  const state = () => new PgStateStore(stateUrl, { leaseMs: 60_000 });
  const audit = async () => (await state().readLog("audit")) as AuditLine[];
  /** Backup folders across the three hosts' backups folders. */
  const folders = (suffix: string) =>
    works.flatMap((w) => {
      const root = path.join(w.dir, "backups");
      return existsSync(root) ? readdirSync(root).filter((n) => n.endsWith(suffix)) : [];
    });
  const verified = (label: string) =>
    slack
      .callsTo("chat.update")
      .filter(
        (c) => visibleText(c.body).includes("backup verified") && visibleText(c.body).includes(`(${label})`),
      );

  beforeAll(async () => {
    [server, slack] = await Promise.all([startScratchServer({ major: 15 }), startFakeSlack()]);
    appUrl = await createDatabase(server, "app");
    await loadFixture(appUrl, "supabase");
    stateUrl = await createDatabase(server, "dbbackup_state");
    works = [1, 2, 3].map(() =>
      workdir({
        DATABASE_URL_STAGING: appUrl,
        DATABASE_URL_PROD: appUrl,
        DBBACKUP_PROD_APPROVERS: CROWD.join(","),
        DBBACKUP_STATE_URL: stateUrl,
        DBBACKUP_LEASE: "5s",
      }),
    );
    bots = await Promise.all(
      works.map((w) => startBotProcess({ slack, signingSecret: SECRET, channel: CHANNEL, cwd: w.dir })),
    );
  });
  afterAll(async () => {
    await killAll(bots);
    await slack?.close();
    for (const w of works) w.remove();
    await server?.stop();
  });

  it("20 Approve clicks spread over the three: one approval, one backup", async () => {
    await slashCommand(bots[0]!.events, SECRET, {
      text: "prod race",
      user_id: REQUESTER,
      channel_id: CHANNEL,
    });
    const request = await waitForAsync(
      "the request and its message",
      async () => (await new ApprovalStore(state()).pending()).find((p) => p.label === "race" && p.ts),
      15_000,
    );
    const answers = await Promise.all(
      CROWD.map((who, i) =>
        blockAction(bots[i % 3]!.events, SECRET, {
          action_id: "approval_approve",
          value: request.id,
          user_id: who,
          channel_id: CHANNEL,
          message_ts: request.ts ?? "",
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    await waitFor("the backup verified", () => (verified("race").length > 0 ? true : undefined), 60_000);
    await waitForAsync(
      "19 refusals on record",
      async () =>
        (await audit()).filter((l) => l.kind === "refused" && l.request === request.id).length >= 19
          ? true
          : undefined,
      20_000,
    );
    const lines = await audit();
    expect(lines.filter((l) => l.kind === "approved" && l.request === request.id)).toHaveLength(1);
    expect(lines.filter((l) => l.kind === "backup-started" && l.label === "race")).toHaveLength(1);
    expect(folders("_prod_race")).toHaveLength(1);
    // Nothing of it went to a host's own state files.
    for (const w of works)
      expect(existsSync(path.join(w.dir, "backups", ".state", "approvals.json"))).toBe(false);
  });

  it("a signed slash command sent to all three at once runs once", async () => {
    const body = slashCommandBody({ text: "staging replayed", user_id: REQUESTER, channel_id: CHANNEL });
    const timestamp = nowSeconds();
    const answers = await Promise.all(bots.map((b) => signedRequest(b.events, SECRET, body, { timestamp })));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(answers.filter((r) => r.body.includes("it was not run again"))).toHaveLength(2);
    await waitFor("the backup verified", () => (verified("replayed").length > 0 ? true : undefined), 60_000);
    const lines = await audit();
    expect(lines.filter((l) => l.kind === "backup-started" && l.label === "replayed")).toHaveLength(1);
    expect(folders("_staging_replayed")).toHaveLength(1);
  });

  it("a replica killed -9 mid-backup: another notices when its lease runs out and tells the channel once", async () => {
    const lock = await holdLock(appUrl, "public.documents");
    try {
      await slashCommand(bots[2]!.events, SECRET, {
        text: "staging killed",
        user_id: REQUESTER,
        channel_id: CHANNEL,
      });
      await slack.waitForCall(
        "chat.postMessage",
        (c) => visibleText(c.body).includes("started a staging backup (killed)"),
        10_000,
      );
      await waitForAsync(
        "the backup's session to wait on the lock",
        async () => ((await dbbackupWaitingOnLocks(appUrl)) > 0 ? true : undefined),
        20_000,
      );
      await bots[2]!.kill();
    } finally {
      await lock.release();
    }
    const told = () =>
      slack.calls.filter(
        (c) =>
          (c.method === "chat.postMessage" || c.method === "chat.update") &&
          /The bot running this backup stopped/.test(JSON.stringify(c.body)),
      );
    await waitFor("the channel told", () => (told().length > 0 ? true : undefined), 30_000);
    // Two more recovery rounds of both survivors: still told once.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(told()).toHaveLength(1);
    expect((await audit()).filter((l) => l.kind === "backup-interrupted")).toHaveLength(1);
  });
});

describe("a bot whose state database goes away", () => {
  let server: ScratchServer;
  let slack: FakeSlack;
  let work: { dir: string; remove(): void };
  let bot: BotProcess;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const ask = async (text: string) => {
    const r = await slashCommand(bot.events, SECRET, { text, user_id: REQUESTER, channel_id: CHANNEL });
    return {
      status: r.status,
      text: r.body ? String((JSON.parse(r.body) as { text?: unknown }).text ?? "") : "",
    };
  };

  beforeAll(async () => {
    [server, slack] = await Promise.all([startScratchServer({ major: 15 }), startFakeSlack()]);
    const url = await createDatabase(server, "app");
    await loadFixture(url, "supabase");
    const stateUrl = new URL(await createDatabase(server, "dbbackup_state"));
    proxy = await tcpProxy(Number(stateUrl.port));
    stateUrl.port = String(proxy.port);
    work = workdir({ DATABASE_URL_STAGING: url, DBBACKUP_STATE_URL: stateUrl.href, DBBACKUP_LEASE: "30s" });
    bot = await startBotProcess({ slack, signingSecret: SECRET, channel: CHANNEL, cwd: work.dir });
  });
  afterAll(async () => {
    await killAll([bot]);
    await proxy?.close();
    await slack?.close();
    work?.remove();
    await server?.stop();
  });

  it("says so to whoever asks, still answers help, runs nothing, and works again once it is back", async () => {
    await proxy.close();
    const refused = await ask("staging while-down");
    expect(refused.status).toBe(200);
    expect(refused.text).toContain("Nothing was done: The state database postgresql://postgres@127.0.0.1:");
    expect(refused.text).toContain("reconnects by itself");
    const help = await ask("help");
    expect(help.status).toBe(200);
    expect(help.text).not.toContain("Nothing was done");
    expect(help.text).toMatch(/^dbbackup: \/dbbackup \[env\] \[label\]/);
    expect(
      slack.callsTo("chat.postMessage").filter((c) => visibleText(c.body).includes("while-down")),
    ).toEqual([]);
    await proxy.reopen();
    await ask("staging after-down");
    await waitFor(
      "the backup verified",
      () => (verified("after-down").length > 0 ? true : undefined),
      60_000,
    );
    expect(existsSync(path.join(work.dir, "backups"))).toBe(true);
    expect(readdirSync(path.join(work.dir, "backups")).filter((n) => n.includes("while-down"))).toEqual([]);
  });

  const verified = (label: string) =>
    slack
      .callsTo("chat.update")
      .filter(
        (c) => visibleText(c.body).includes("backup verified") && visibleText(c.body).includes(`(${label})`),
      );
});
