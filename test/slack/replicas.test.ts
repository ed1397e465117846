import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { type Approval, ApprovalStore } from "../../src/state/approvals.js";
import { type BotProcess, killAll, startBotProcess } from "../helpers/bot-process.js";
import { runCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, type FakeSlackCall, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { createDatabase, loadFixture, sql } from "../helpers/postgres.js";
import { holdLock, processesOf, waitFor, waitForAsync } from "../helpers/servers.js";
import {
  blockAction,
  nowSeconds,
  type SlackHttpResult,
  signedRequest,
  slashCommand,
  slashCommandBody,
} from "../helpers/slack-requests.js";
import { stateOf } from "../helpers/state.js";

/**
 * The bot run as several real processes (`node bin/dbbackup-bot.js`) on one backups folder, as
 * replicas behind a load balancer would be: requests split between them, replays of signed
 * requests, and a replica killed (-9) mid-dump, on this machine's PID namespace or in a container
 * of its own (another PID and UTS namespace). Everything is judged the way a user sees it: channel
 * messages, HTTP answers, `dbbackup list`, the backups folder; and, where counting is the point,
 * the audit log and the approvals on record.
 */

const SECRET = "replicas-signing-secret-0123456789";
const CHANNEL = "C0OPS0009";
const REQ_A = "U0REQA001"; // asks through bot A
const REQ_B = "U0REQB001"; // asks through bot B
const ALICE = "U0ALICE01";
const BOB = "U0BOB0001";
const CROWD = Array.from({ length: 20 }, (_, i) => `U0APR${String(i).padStart(4, "0")}`);
const INTERRUPTED = "The bot running this backup stopped";
const NOT_RUN_AGAIN = "it was not run again";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AuditLine {
  kind: string;
  [field: string]: unknown;
}

/** backups/.state/audit.jsonl, through the state layer's reader (a torn line is skipped). */
async function auditOf(root: string): Promise<AuditLine[]> {
  return (await stateOf(root).readLog("audit")) as AuditLine[];
}

/** Backup folders a person sees with `ls backups/` (hidden ones left out). */
function backupFolders(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith(".")) : [];
}

function inProgressFolders(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((n) => n.startsWith(".inprogress-")) : [];
}

interface Listing {
  backups: { id: string; env: string; label: string | null }[];
  running: { env: string; id: string }[];
}

async function listJson(cwd: string): Promise<Listing> {
  const r = await runCli(["list", "--json"], { cwd, timeoutMs: 30_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listing;
}

/** What a reader sees of a message: its blocks (or text), and the blocks of its attachments (failures are red ones). */
function seen(m: { text?: unknown; blocks?: unknown; attachments?: unknown }): string {
  const attached = (Array.isArray(m.attachments) ? m.attachments : []).flatMap((a: { blocks?: unknown }) =>
    Array.isArray(a.blocks) ? a.blocks : [],
  );
  return [visibleText(m), visibleText({ blocks: attached })].filter(Boolean).join("\n");
}

/** Calls that put `text` in front of the channel: new messages and updates of old ones. */
function channelCalls(slack: FakeSlack, text: string): FakeSlackCall[] {
  return slack.calls.filter(
    (c) =>
      (c.method === "chat.postMessage" || c.method === "chat.update") &&
      c.response.ok === true &&
      seen(c.body).includes(text),
  );
}

function postsWith(slack: FakeSlack, text: string): FakeSlackCall[] {
  return slack.callsTo("chat.postMessage").filter((c) => visibleText(c.body).includes(text));
}

/** The channel's "<env> backup verified … (label)" updates. */
function verified(slack: FakeSlack, env: string, label: string): FakeSlackCall[] {
  return slack
    .callsTo("chat.update")
    .filter((c) => visibleText(c.body).includes(`*${env} backup verified*`))
    .filter((c) => visibleText(c.body).includes(`(${label})`));
}

async function waitVerified(slack: FakeSlack, env: string, label: string, count = 1, timeoutMs = 60_000) {
  // A run of this label that failed instead: its "started" message now says so.
  const failure = () =>
    postsWith(slack, `started a ${env} backup (${label})`)
      .map((c) => seen(slack.message(String(c.body.channel), String(c.response.ts)) ?? {}))
      .find((t) => t.includes(`${env} backup failed`));
  await waitFor(
    `${count} verified ${env} backup(s) (${label})`,
    () => {
      if (verified(slack, env, label).length >= count) return true;
      const failed = failure();
      if (failed) throw new Error(`the ${env} backup (${label}) failed: ${failed}`);
      return undefined;
    },
    timeoutMs,
  );
}

/** The parsed body of a replayed request's answer (the bot says so in an ephemeral JSON answer). */
function answerText(r: SlackHttpResult): string {
  if (!r.body) return "";
  try {
    return String((JSON.parse(r.body) as { text?: unknown }).text ?? "");
  } catch {
    return r.body;
  }
}

/** pg_dump processes reading database `db` on port `port` (the machine's /proc, every namespace). */
function pgDumpsOf(port: number, db: string) {
  return processesOf("pg_dump").filter((p) => p.argv.some((a) => a.includes(String(port)) && a.includes(db)));
}

/** dbbackup's sessions (application_name dbbackup:<job>) on a database, as pg_stat_activity shows them. */
function dbbackupSessions(url: string, db: string) {
  return sql<{ pid: number; application_name: string; state: string; wait_event_type: string | null }>(
    url,
    `select pid, application_name, state, wait_event_type from pg_stat_activity
      where datname = $1 and application_name like 'dbbackup:%'`,
    [db],
  );
}

/** Whether this machine lets us start a process in new PID, mount and UTS namespaces (root, CAP_SYS_ADMIN). */
function namespacesUnavailable(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root";
  try {
    execFileSync("unshare", ["--pid", "--fork", "--uts", "--mount-proc", "true"], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 10_000,
    });
    return undefined;
  } catch (error) {
    return `unshare failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`;
  }
}

let server: ScratchServer;
beforeAll(async () => {
  server = await startScratchServer({ major: 15 });
});
afterAll(async () => {
  await server?.stop();
});

describe("two bot processes on one backups folder", () => {
  let slack: FakeSlack;
  let work: { dir: string; remove(): void };
  let url: string;
  let a: BotProcess;
  let b: BotProcess;
  const root = () => path.join(work.dir, "backups");
  const approvals = () => new ApprovalStore(stateOf(root()));
  const startBot = () => startBotProcess({ slack, signingSecret: SECRET, channel: CHANNEL, cwd: work.dir });

  beforeAll(async () => {
    slack = await startFakeSlack();
    url = await createDatabase(server, "replicas");
    await loadFixture(url, "supabase");
    work = workdir({
      DATABASE_URL_STAGING: url,
      DATABASE_URL_PROD: url,
      DBBACKUP_PROD_APPROVERS: [BOB, ...CROWD].join(","),
      // Recovery every 2 s in both bots while the other runs backups: a live replica must never be
      // taken for a dead one.
      DBBACKUP_LEASE: "5s",
    });
    [a, b] = await Promise.all([startBot(), startBot()]);
  });
  afterAll(async () => {
    await killAll([a, b]);
    await slack?.close();
    work?.remove();
  });

  const click = (via: BotProcess, who: string, request: Pick<Approval, "id" | "ts">) =>
    blockAction(via.events, SECRET, {
      action_id: "approval_approve",
      value: request.id,
      user_id: who,
      channel_id: CHANNEL,
      message_ts: request.ts ?? "",
    });

  it("stores 20 prod requests split over both bots, each approvable through the other bot", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slashCommand(i % 2 === 0 ? a.events : b.events, SECRET, {
          text: "prod pre-upgrade",
          user_id: i % 2 === 0 ? REQ_A : REQ_B,
          channel_id: CHANNEL,
        }),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const pending = await waitForAsync(
      "20 pending requests, each with its channel message",
      async () => {
        const p = await approvals().pending();
        return p.length >= 20 && p.every((x) => x.ts) ? p : undefined;
      },
      30_000,
    );
    expect(pending).toHaveLength(20);
    expect(new Set(pending.map((p) => p.id)).size).toBe(20);
    expect(pending.filter((p) => p.requestedBy === REQ_A)).toHaveLength(10);
    expect(pending.filter((p) => p.requestedBy === REQ_B)).toHaveLength(10);
    // What the channel shows: 20 requests, each message's buttons carrying its own request id.
    const shown = slack.messages.filter((m) =>
      visibleText(m).includes("asks for a *prod backup (pre-upgrade)*"),
    );
    expect(shown).toHaveLength(20);
    expect(
      new Set(shown.map((m) => /"value":"([0-9a-f-]{36})"/.exec(JSON.stringify(m.blocks))?.[1])),
    ).toEqual(new Set(pending.map((p) => p.id)));

    // Approved through the bot that did not create it: one of A's through B, one of B's through A.
    const fromA = pending.find((p) => p.requestedBy === REQ_A)!;
    const fromB = pending.find((p) => p.requestedBy === REQ_B)!;
    let done = 0;
    for (const [request, via] of [
      [fromA, b],
      [fromB, a],
    ] as const) {
      const r = await click(via, BOB, request);
      expect(r.status).toBe(200);
      await slack.waitForCall(
        "chat.update",
        (c) => c.body.ts === request.ts && visibleText(c.body).includes(`Approved by <@${BOB}>`),
        10_000,
      );
      done += 1;
      await waitVerified(slack, "prod", "pre-upgrade", done);
    }
    const told = slack.ephemerals.filter((e) => e.user === BOB).map((e) => e.text);
    expect(told.filter((t) => /No such request/.test(t))).toEqual([]);
    expect(told).toEqual([]);
    for (const request of [fromA, fromB]) {
      const stored = await approvals().get(request.id);
      expect(stored?.status).toBe("approved");
      expect(stored?.decidedBy).toBe(BOB);
    }
    expect(await approvals().pending()).toHaveLength(18);
    expect(backupFolders(root()).filter((n) => n.endsWith("_prod_pre-upgrade"))).toHaveLength(2);
  });

  it("20 Approve clicks on one request, over both bots at once: one approval, one backup; the rest hear who decided", async () => {
    const asked = await slashCommand(a.events, SECRET, {
      text: "prod race",
      user_id: REQ_A,
      channel_id: CHANNEL,
    });
    expect(asked.status).toBe(200);
    const request = await waitForAsync(
      "the race request and its message",
      async () => (await approvals().pending()).find((p) => p.label === "race" && p.ts),
      10_000,
    );
    const answers = await Promise.all(CROWD.map((who, i) => click(i % 2 === 0 ? a : b, who, request)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));

    // Clicks are acked before they are decided: wait until every clicker was answered one way or the other.
    const approvedLines = async () =>
      (await auditOf(root())).filter((l) => l.kind === "approved" && l.request === request.id);
    const [first] = await waitForAsync(
      "the approval on record",
      async () => {
        const lines = await approvedLines();
        return lines.length > 0 ? lines : undefined;
      },
      15_000,
    );
    const winner = String(first?.by);
    expect(CROWD).toContain(winner);
    const losers = () =>
      slack.ephemerals.filter(
        (e) => CROWD.includes(e.user) && e.text.includes(`already approved by <@${winner}>`),
      );
    await waitFor("19 clickers told who decided", () => (losers().length >= 19 ? true : undefined), 20_000);
    await waitVerified(slack, "prod", "race");

    expect(losers()).toHaveLength(19);
    expect(new Set(losers().map((e) => e.user))).toEqual(new Set(CROWD.filter((u) => u !== winner)));
    expect(slack.ephemerals.filter((e) => e.user === winner)).toEqual([]);
    expect(visibleText(slack.message(CHANNEL, request.ts ?? "") ?? {})).toContain(`Approved by <@${winner}>`);
    const audit = await auditOf(root());
    expect(await approvedLines()).toHaveLength(1);
    expect(audit.filter((l) => l.kind === "refused" && l.request === request.id)).toHaveLength(19);
    const started = audit.filter((l) => l.kind === "backup-started" && l.label === "race");
    expect(started).toHaveLength(1);
    expect(started[0]?.approvedBy).toBe(winner);
    expect(postsWith(slack, "started a prod backup (race)")).toHaveLength(1);
    expect(backupFolders(root()).filter((n) => n.endsWith("_prod_race"))).toHaveLength(1);
  });

  it("runs a signed slash command sent twice (even to both bots at once) once; the replays get 200 'not run again'", async () => {
    const body = slashCommandBody({ text: "staging replayed", user_id: REQ_A, channel_id: CHANNEL });
    const timestamp = nowSeconds();
    const send = (via: BotProcess) => signedRequest(via.events, SECRET, body, { timestamp });
    const refusedBefore = (await auditOf(root())).filter((l) => l.kind === "replay-refused").length;

    const both = await Promise.all([send(a), send(b)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(both.filter((r) => answerText(r).includes(NOT_RUN_AGAIN))).toHaveLength(1);
    const again = await send(a);
    expect(again.status).toBe(200);
    expect(answerText(again)).toBe("dbbackup already received this exact request; it was not run again.");
    await waitVerified(slack, "staging", "replayed");
    await sleep(300);

    const audit = await auditOf(root());
    expect(audit.filter((l) => l.kind === "backup-started" && l.label === "replayed")).toHaveLength(1);
    expect(audit.filter((l) => l.kind === "replay-refused")).toHaveLength(refusedBefore + 2);
    expect(postsWith(slack, "started a staging backup (replayed)")).toHaveLength(1);
    expect(backupFolders(root()).filter((n) => n.endsWith("_staging_replayed"))).toHaveLength(1);
  });

  it("asks for approval once when a prod request is replayed", async () => {
    const body = slashCommandBody({ text: "prod replayed-prod", user_id: REQ_B, channel_id: CHANNEL });
    const timestamp = nowSeconds();
    const first = await signedRequest(b.events, SECRET, body, { timestamp });
    const second = await signedRequest(a.events, SECRET, body, { timestamp });
    const third = await signedRequest(b.events, SECRET, body, { timestamp });
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(answerText(first)).not.toContain(NOT_RUN_AGAIN);
    expect(answerText(second)).toContain(NOT_RUN_AGAIN);
    expect(answerText(third)).toContain(NOT_RUN_AGAIN);
    await waitForAsync(
      "the request's message",
      async () => (await approvals().pending()).find((p) => p.label === "replayed-prod" && p.ts),
      10_000,
    );
    await sleep(300);
    expect((await approvals().pending()).filter((p) => p.label === "replayed-prod")).toHaveLength(1);
    expect(
      (await auditOf(root())).filter((l) => l.kind === "approval-requested" && l.label === "replayed-prod"),
    ).toHaveLength(1);
    expect(postsWith(slack, "prod backup (replayed-prod)")).toHaveLength(1);
  });

  it("refuses (401) requests dated 10 minutes ahead or behind, and does nothing with them", async () => {
    const auditBefore = (await auditOf(root())).length;
    const callsBefore = slack.calls.length;
    const future = await slashCommand(
      a.events,
      SECRET,
      { text: "staging from-the-future", user_id: REQ_A, channel_id: CHANNEL },
      { timestamp: nowSeconds() + 600 },
    );
    expect(future.status).toBe(401);
    const futureProd = await slashCommand(
      b.events,
      SECRET,
      { text: "prod from-the-future", user_id: REQ_B, channel_id: CHANNEL },
      { timestamp: nowSeconds() + 600 },
    );
    expect(futureProd.status).toBe(401);
    // Stale requests are Bolt's own check: kept as a regression check.
    const past = await slashCommand(
      b.events,
      SECRET,
      { text: "staging from-the-past", user_id: REQ_B, channel_id: CHANNEL },
      { timestamp: nowSeconds() - 600 },
    );
    expect(past.status).toBe(401);
    await sleep(1_000);
    expect((await auditOf(root())).slice(auditBefore)).toEqual([]);
    expect(slack.calls.slice(callsBefore).map((c) => `${c.method} ${visibleText(c.body)}`)).toEqual([]);
    expect(backupFolders(root()).filter((n) => n.includes("from-the"))).toEqual([]);
    expect((await approvals().pending()).filter((p) => p.label === "from-the-future")).toEqual([]);
  });

  it("does not run a request again after its bot restarted (SIGTERM, then a new process on the folder)", async () => {
    const body = slashCommandBody({ text: "staging restarted", user_id: REQ_B, channel_id: CHANNEL });
    const timestamp = nowSeconds();
    const first = await signedRequest(b.events, SECRET, body, { timestamp });
    expect(first.status).toBe(200);
    expect(answerText(first)).not.toContain(NOT_RUN_AGAIN);
    await slack.waitForCall(
      "chat.postMessage",
      (c) => visibleText(c.body).includes("started a staging backup (restarted)"),
      10_000,
    );
    // A graceful stop lets the running backup finish first.
    expect(await b.stop()).toBe(0);
    await waitVerified(slack, "staging", "restarted", 1, 5_000);
    b = await startBot();
    const replayed = await signedRequest(b.events, SECRET, body, { timestamp });
    expect(replayed.status).toBe(200);
    expect(answerText(replayed)).toContain(NOT_RUN_AGAIN);
    const toOther = await signedRequest(a.events, SECRET, body, { timestamp });
    expect(answerText(toOther)).toContain(NOT_RUN_AGAIN);
    await sleep(500);
    const audit = await auditOf(root());
    expect(audit.filter((l) => l.kind === "backup-started" && l.label === "restarted")).toHaveLength(1);
    expect(postsWith(slack, "started a staging backup (restarted)")).toHaveLength(1);
    expect(backupFolders(root()).filter((n) => n.endsWith("_staging_restarted"))).toHaveLength(1);
  });

  it("never reported a live replica's backup as interrupted, and left nothing half-done", async () => {
    expect(channelCalls(slack, INTERRUPTED)).toEqual([]);
    const audit = await auditOf(root());
    expect(audit.filter((l) => l.kind === "backup-interrupted" || l.kind === "backup-failed")).toEqual([]);
    expect(audit.filter((l) => l.kind === "backup-started").length, "every backup started was finished").toBe(
      audit.filter((l) => l.kind === "backup-finished").length,
    );
    expect(inProgressFolders(root())).toEqual([]);
    expect((await listJson(work.dir)).running).toEqual([]);
  });
});

/** What a bot killed mid-dump must leave: nothing running, nothing listed, one notice, a clean folder. */
function killedMidDumpSuite(options: { db: string }) {
  const { db } = options;
  let slack: FakeSlack;
  let work: { dir: string; remove(): void };
  let url: string;
  const bots: BotProcess[] = [];
  let lock: { release(): Promise<void> } | undefined;
  const root = () => path.join(work.dir, "backups");
  const tag = randomBytes(3).toString("hex");
  const startBot = async (namespaceHostname?: string) => {
    const bot = await startBotProcess({
      slack,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      ...(namespaceHostname ? { namespaceHostname } : {}),
    });
    bots.push(bot);
    return bot;
  };

  beforeAll(async () => {
    slack = await startFakeSlack();
    url = await createDatabase(server, db);
    await loadFixture(url, "supabase");
    // Lease 5 s: a dead bot elsewhere is noticed within seconds (recovery runs every 2.5 s).
    work = workdir({ DATABASE_URL_STAGING: url, DBBACKUP_LEASE: "5s" });
  });
  afterAll(async () => {
    await lock?.release();
    await killAll(bots);
    await slack?.close();
    work?.remove();
  });

  /** Starts a staging backup on `bot` and returns once pg_dump is running and waiting on the held lock. */
  async function startSlowBackup(bot: BotProcess, label: string) {
    lock = await holdLock(url, "public.documents");
    const r = await slashCommand(bot.events, SECRET, {
      text: `staging ${label}`,
      user_id: ALICE,
      channel_id: CHANNEL,
    });
    expect(r.status).toBe(200);
    const posted = await slack.waitForCall(
      "chat.postMessage",
      (c) => visibleText(c.body).includes(`started a staging backup (${label})`),
      10_000,
    );
    const dump = await waitFor("pg_dump to run", () => pgDumpsOf(server.port, db)[0], 20_000);
    await waitForAsync(
      "pg_dump's session to wait on the lock",
      async () =>
        (await dbbackupSessions(url, db)).some((s) => s.wait_event_type === "Lock") ? true : undefined,
      20_000,
    );
    const partial = await waitFor("the hidden in-progress folder", () =>
      inProgressFolders(root()).find((n) => n.endsWith(`_staging_${label}`)),
    );
    return { ts: String(posted.response.ts), dump, partial };
  }

  return {
    tag,
    root,
    startBot,
    startSlowBackup,
    ctx: () => ({ slack, work, url }),
    releaseLock: () => lock?.release(),
  };
}

describe("a bot killed (-9) mid-dump, on this machine", () => {
  const suite = killedMidDumpSuite({ db: "killed" });
  let a: BotProcess;
  let ts: string;
  let partial: string;
  let before: Listing;
  let b: BotProcess;
  let bStarted = 0;

  it("takes its pg_dump with it; nothing new is listed and nothing shows as running", async () => {
    const { work } = suite.ctx();
    before = await listJson(work.dir);
    a = await suite.startBot();
    ({ ts, partial } = await suite.startSlowBackup(a, "killed"));
    await a.kill();
    await waitFor(
      "pg_dump to die with its bot",
      () => (pgDumpsOf(server.port, "killed").length === 0 ? true : undefined),
      5_000,
    );
    const after = await listJson(work.dir);
    expect(after.backups.map((x) => x.id)).toEqual(before.backups.map((x) => x.id));
    expect(after.running).toEqual([]);
  });

  it("leaves no session of its run on the server: bot B, started while the lock is still held, ends it", async () => {
    const { url } = suite.ctx();
    try {
      // The lock is still held (a migration mid-flight). A backend waiting on a lock only notices its
      // client died when it next writes to it, so the killed run's session would wait in the lock
      // queue until DBBACKUP_LOCK_WAIT_TIMEOUT: the next dbbackup on the folder ends it instead.
      bStarted = Date.now();
      b = await suite.startBot();
      await waitForAsync(
        "no dbbackup:% session left on the database",
        async () => ((await dbbackupSessions(url, "killed")).length === 0 ? true : undefined),
        10_000,
      ).catch(async (error: Error) => {
        throw new Error(
          `${error.message}; still there: ${JSON.stringify(await dbbackupSessions(url, "killed"))}`,
        );
      });
    } finally {
      await suite.releaseLock();
    }
  });

  it("bot B on the same folder tells the channel once, removes the partial folder and backs up", async () => {
    const { slack, work } = suite.ctx();
    await suite.releaseLock();
    const [notice] = await waitFor(
      "the channel to be told the backup was interrupted",
      () => {
        const calls = channelCalls(slack, INTERRUPTED);
        return calls.length > 0 ? calls : undefined;
      },
      10_000,
    );
    const text = seen(notice?.body ?? {});
    expect(text).toContain("staging backup failed");
    expect(text).toContain(`pid ${a.pid} on `);
    expect(text).toContain("Ask again: /dbbackup staging killed");
    // A's own message says what happened to it.
    expect(seen(slack.message(CHANNEL, ts) ?? {})).toContain(INTERRUPTED);
    expect(existsSync(path.join(suite.root(), partial))).toBe(false);
    expect(inProgressFolders(suite.root())).toEqual([]);

    const r = await slashCommand(b.events, SECRET, {
      text: "staging after-kill",
      user_id: ALICE,
      channel_id: CHANNEL,
    });
    expect(r.status).toBe(200);
    await waitVerified(slack, "staging", "after-kill");
    const listing = await listJson(work.dir);
    expect(listing.backups.map((x) => x.label)).toContain("after-kill");
    expect(listing.backups.map((x) => x.label)).not.toContain("killed");
    expect(listing.running).toEqual([]);

    // Still once after a couple more recovery rounds (every 2.5 s with a 5 s lease).
    await sleep(Math.max(0, bStarted + 6_000 - Date.now()));
    expect(channelCalls(slack, INTERRUPTED)).toHaveLength(1);
    expect((await auditOf(suite.root())).filter((l) => l.kind === "backup-interrupted")).toHaveLength(1);
  });
});

const noNamespaces = namespacesUnavailable();

describe.skipIf(noNamespaces !== undefined)(
  `a bot killed (-9) mid-dump in a PID namespace of its own${noNamespaces ? ` (skipped: ${noNamespaces})` : ""}`,
  () => {
    const suite = killedMidDumpSuite({ db: "contained" });

    it("is noticed within its lease by replicas elsewhere: told once, cleaned up, and a new backup succeeds", async () => {
      const { slack, work, url } = suite.ctx();
      const hostA = `bot-a-${suite.tag}`;
      const before = await listJson(work.dir);
      // A replica that can't see A's process (another namespace, another hostname) is up all along.
      const [a, c] = await Promise.all([suite.startBot(hostA), suite.startBot(`bot-c-${suite.tag}`)]);
      const { ts, partial, dump } = await suite.startSlowBackup(a, "contained");
      // A few recovery rounds (every 2 s) of C while A is alive but slow: nothing is reported, nothing stopped.
      await sleep(2_500);
      expect(channelCalls(slack, INTERRUPTED)).toEqual([]);
      expect(pgDumpsOf(server.port, "contained").map((p) => p.pid)).toContain(dump.pid);
      expect(existsSync(path.join(suite.root(), partial))).toBe(true);
      // Killing PID 1 of the namespace takes everything in it along (pg_dump included).
      await a.kill();
      const killedAt = Date.now();
      await suite.releaseLock();
      await waitFor(
        "pg_dump to die with its bot",
        () => (pgDumpsOf(server.port, "contained").length === 0 ? true : undefined),
        5_000,
      );
      await waitForAsync(
        "no dbbackup:% session left on the database",
        async () => ((await dbbackupSessions(url, "contained")).length === 0 ? true : undefined),
        10_000,
      );
      expect((await listJson(work.dir)).backups.map((x) => x.id)).toEqual(before.backups.map((x) => x.id));

      // And one started now, on this machine: it can't see A's process either (another PID namespace).
      const b = await suite.startBot();
      expect(c.exited).toBe(false);
      // Asked at once, B waits out A's lease on the staging lock, then takes it over.
      const r = await slashCommand(b.events, SECRET, {
        text: "staging after-container",
        user_id: ALICE,
        channel_id: CHANNEL,
      });
      expect(r.status).toBe(200);

      const [notice] = await waitFor(
        "the channel to be told the backup was interrupted",
        () => {
          const calls = channelCalls(slack, INTERRUPTED);
          return calls.length > 0 ? calls : undefined;
        },
        15_000,
      );
      const noticedAt = Date.now();
      expect(noticedAt - killedAt).toBeLessThan(15_000);
      const text = seen(notice?.body ?? {});
      expect(text).toContain("staging backup failed");
      expect(text).toContain(`pid 1 on ${hostA}`);
      expect(seen(slack.message(CHANNEL, ts) ?? {})).toContain(INTERRUPTED);
      await waitFor(
        "the partial folder to be removed",
        () => (existsSync(path.join(suite.root(), partial)) ? undefined : true),
        10_000,
      );

      await waitVerified(slack, "staging", "after-container", 1, 30_000);
      const listing = await listJson(work.dir);
      expect(listing.backups.map((x) => x.label)).toContain("after-container");
      expect(listing.backups.map((x) => x.label)).not.toContain("contained");
      expect(listing.running).toEqual([]);
      expect(inProgressFolders(suite.root())).toEqual([]);

      // Still once after a couple more recovery rounds of both replicas.
      await sleep(Math.max(0, noticedAt + 4_500 - Date.now()));
      expect(channelCalls(slack, INTERRUPTED)).toHaveLength(1);
      expect((await auditOf(suite.root())).filter((l) => l.kind === "backup-interrupted")).toHaveLength(1);
    });
  },
);
