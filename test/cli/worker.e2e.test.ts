import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { PgStateStore } from "../../src/state/pg-store.js";
import { WAKEUPS_APPLICATION } from "../../src/state/queue-wakeups.js";
import { WorkQueue } from "../../src/state/work-queue.js";
import { type BotProcess, killAll, startBotProcess } from "../helpers/bot-process.js";
import { runCli, startCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { connectionsNamed, createDatabase, sql } from "../helpers/postgres.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";
import { dbbackupWaitingOnLocks, holdLock, waitFor, waitForAsync } from "../helpers/servers.js";
import { slashCommand } from "../helpers/slack-requests.js";

/** `dbbackup worker` processes draining the state database's queue, as a bot with DBBACKUP_RUN_ON=workers fills it. */

const ENVS = Array.from({ length: 10 }, (_, i) => `e${i + 1}`);

describe("dump workers", () => {
  let server: ScratchServer;
  let tiny: string;
  let stateUrl: string;
  const hosts: { dir: string; remove(): void }[] = [];
  const running: ReturnType<typeof startCli>[] = [];
  let store: PgStateStore;
  let queue: WorkQueue;

  /** A worker process on a host of its own (its own folder), ready once it says so. */
  const startWorker = async (extra: Record<string, string> = {}, ...args: string[]) => {
    const host = workdir({
      ...extra,
      ...Object.fromEntries(ENVS.map((e) => [`DATABASE_URL_${e.toUpperCase()}`, tiny])),
      DATABASE_URL_STAGING: tiny,
      DBBACKUP_STATE_URL: stateUrl,
      DBBACKUP_LEASE: "4s",
    });
    hosts.push(host);
    const worker = startCli(["worker", ...args], { cwd: host.dir });
    running.push(worker);
    let said = "";
    worker.stderr?.on("data", (d: Buffer) => {
      said += d.toString();
    });
    await waitFor("the worker ready", () => (said.includes("ready") ? true : undefined), 20_000);
    return { host, worker, said: () => said };
  };
  const backupsOf = (host: { dir: string }, suffix: string) => {
    const root = path.join(host.dir, "backups");
    return existsSync(root) ? readdirSync(root).filter((n) => n.endsWith(suffix)) : [];
  };
  const enqueue = (id: string, env: string, label: string, maxAttempts = 1) =>
    queue.enqueue({
      id,
      verb: "backup",
      env,
      args: { env, label, restoreHint: true },
      requestedBy: "U0REQ0001",
      approvedBy: null,
      maxAttempts,
    });
  const settled = async (ids: string[]) =>
    waitForAsync(
      `jobs ${ids.join(", ")} finished`,
      async () => {
        const rows = await Promise.all(ids.map((id) => queue.get(id)));
        return rows.every((r) => r?.status === "done" || r?.status === "failed") ? rows : undefined;
      },
      90_000,
    );

  beforeAll(async () => {
    server = await startScratchServer({ major: 15 });
    tiny = await createDatabase(server, "tiny");
    await sql(
      tiny,
      "create table public.items as select g as id, md5(g::text) as v from generate_series(1, 1000) g",
    );
    stateUrl = await createDatabase(server, "dbbackup_state");
    store = new PgStateStore(stateUrl, { leaseMs: 60_000 });
    queue = new WorkQueue(store);
  });
  afterAll(async () => {
    for (const w of running) w.kill("SIGKILL");
    await Promise.allSettled(running);
    for (const h of hosts) h.remove();
    await server?.stop();
  });

  it("two workers drain 10 queued backups: each taken once, by one of them, all verified", async () => {
    const [a, b] = [await startWorker(), await startWorker()];
    const ids = ENVS.map((e) => `drain-${e}`);
    for (const [i, env] of ENVS.entries()) await enqueue(ids[i] ?? "", env, "drain");
    const rows = await settled(ids);
    expect(rows.map((r) => r?.status)).toEqual(Array(10).fill("done"));
    expect(rows.map((r) => r?.attempts)).toEqual(Array(10).fill(1));
    expect(new Set(rows.map((r) => r?.worker)).size).toBe(2);
    const folders = [...backupsOf(a.host, "_drain"), ...backupsOf(b.host, "_drain")];
    expect(folders).toHaveLength(10);
    expect(new Set(folders.map((f) => f.split("_")[2])).size).toBe(10);
    // What the bot reads back: each job's result names its backup, stage 2 reached.
    for (const r of rows) expect(r?.result).toMatchObject({ ok: true, stage: "readable" });
    for (const w of [a, b]) w.worker.kill("SIGTERM");
    await Promise.allSettled([a.worker, b.worker]);
    // Any host on the state database lists them, with where each is.
    const elsewhere = workdir({ DBBACKUP_STATE_URL: stateUrl, DATABASE_URL_STAGING: tiny });
    hosts.push(elsewhere);
    const listed = await runCli(["list", "--json"], { cwd: elsewhere.dir });
    expect(listed.exitCode, listed.stderr).toBe(0);
    const backups = (JSON.parse(listed.stdout) as { backups: { id: string; host?: string; dir: string }[] })
      .backups;
    expect(
      backups
        .filter((x) => x.id.endsWith("_drain"))
        .map((x) => x.id)
        .sort(),
    ).toEqual([...folders].sort());
    for (const x of backups) expect(x.host).toBe(os.hostname());
    const table = await runCli(["list"], { cwd: elsewhere.dir });
    expect(table.stdout).toMatch(new RegExp(`_e1_drain .*${os.hostname()}`));
  });

  it("an idle worker, listening for jobs, stops at SIGTERM at once and closes its listening connection", async () => {
    const listening = () => connectionsNamed(stateUrl, WAKEUPS_APPLICATION);
    const others = new Set(await listening());
    const { worker } = await startWorker();
    const [mine] = await waitForAsync("the worker listening", async () => {
      const pids = (await listening()).filter((pid) => !others.has(pid));
      return pids.length === 1 ? pids : undefined;
    });
    const asked = Date.now();
    worker.kill("SIGTERM");
    const ended = await worker;
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(ended.exitCode, String(ended.stderr)).toBe(0);
    expect(String(ended.stdout)).toContain("worker stopped: 0 job(s) run");
    await waitForAsync("its connection gone", async () =>
      (await listening()).includes(mine!) ? undefined : true,
    );
  });

  it("a backup pruned on its host leaves every host's list: the shared catalog says it is gone", async () => {
    const taker = workdir({
      DBBACKUP_STATE_URL: stateUrl,
      DATABASE_URL_PRUNED: tiny,
      DBBACKUP_KEEP_ON_DEMAND: "1",
    });
    const elsewhere = workdir({ DBBACKUP_STATE_URL: stateUrl, DATABASE_URL_PRUNED: tiny });
    hosts.push(taker, elsewhere);
    for (const label of ["older", "newer"]) {
      const made = await runCli(["pruned", label], { cwd: taker.dir });
      expect(made.exitCode, made.stderr).toBe(0);
    }
    const listedIds = async () =>
      (
        JSON.parse((await runCli(["list", "pruned", "--json"], { cwd: elsewhere.dir })).stdout) as {
          backups: { id: string }[];
        }
      ).backups.map((b) => b.id.split("_").slice(3).join("_"));
    expect((await listedIds()).sort()).toEqual(["newer", "older"]);
    const pruned = await runCli(["prune", "pruned"], { cwd: taker.dir });
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(backupsOf(taker, "_pruned_older")).toEqual([]);
    expect(await listedIds()).toEqual(["newer"]);
    const gone = await sql<{ gone: boolean }>(
      stateUrl,
      "select gone_at is not null as gone from dbbackup_catalog where id like '%_pruned_older'",
    );
    expect(gone).toEqual([{ gone: true }]);
  });

  it("a worker killed -9 mid-dump: a job allowed 2 attempts runs again on another, one allowed 1 fails saying so", async () => {
    const lock = await holdLock(tiny, "public.items");
    const first = await startWorker({}, "--concurrency", "2");
    await enqueue("killed-again", "e1", "again", 2);
    await enqueue("killed-once", "e2", "once", 1);
    await waitForAsync(
      "both dumps waiting on the lock",
      async () => ((await dbbackupWaitingOnLocks(tiny)) === 2 ? true : undefined),
      20_000,
    );
    first.worker.kill("SIGKILL");
    await first.worker.catch(() => undefined);
    await lock.release();
    const second = await startWorker();
    const [again, once] = await settled(["killed-again", "killed-once"]);
    expect(again).toMatchObject({ status: "done", attempts: 2 });
    expect(again?.worker).not.toBe(first.said().match(/worker (\w+) ready/)?.[1]);
    expect(backupsOf(second.host, "_e1_again")).toHaveLength(1);
    expect(once).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "worker_died", message: expect.stringContaining("attempt 1 of 1") },
    });
    expect(backupsOf(second.host, "_e2_once")).toEqual([]);
    second.worker.kill("SIGTERM");
    await second.worker.catch(() => undefined);
  });

  describe("a bot with DBBACKUP_RUN_ON=workers", () => {
    const SECRET = "worker-bot-signing-secret-0123456789";
    const CHANNEL = "C0OPS0011";
    const ALICE = "U0ALICE01";
    let slack: FakeSlack;
    let bot: BotProcess;
    let botHost: { dir: string; remove(): void };
    const ask = (text: string) =>
      slashCommand(bot.events, SECRET, { text, user_id: ALICE, channel_id: CHANNEL });
    const shown = (c: { body: Record<string, unknown> }) =>
      `${visibleText(c.body)} ${visibleText({ blocks: (c.body.attachments as { blocks?: unknown }[] | undefined)?.[0]?.blocks })}`;

    beforeAll(async () => {
      slack = await startFakeSlack();
      botHost = workdir({
        DATABASE_URL_STAGING: tiny,
        DBBACKUP_STATE_URL: stateUrl,
        DBBACKUP_RUN_ON: "workers",
      });
      bot = await startBotProcess({ slack, signingSecret: SECRET, channel: CHANNEL, cwd: botHost.dir });
    });
    afterAll(async () => {
      await killAll([bot]);
      await slack?.close();
      botHost?.remove();
    });

    it("queues the backup; a worker takes it, its progress and its end update the bot's message", async () => {
      const worker = await startWorker();
      // A small backup is over in a moment: held on a lock, its progress so far reaches the message first.
      const lock = await holdLock(tiny, "public.items");
      try {
        await ask("staging via-worker");
        const progress = await slack.waitForCall(
          "chat.update",
          (c) => shown(c).includes("staging") && !shown(c).includes("verified"),
          30_000,
        );
        await lock.release();
        const done = await slack.waitForCall(
          "chat.update",
          (c) => shown(c).includes("staging backup verified") && shown(c).includes("(via-worker)"),
          60_000,
        );
        expect(done.body.ts).toBe(progress.body.ts);
        const updates = slack.callsTo("chat.update").filter((c) => c.body.ts === done.body.ts);
        expect(updates.indexOf(done)).toBeGreaterThan(updates.indexOf(progress));
        expect(backupsOf(worker.host, "_staging_via-worker")).toHaveLength(1);
        expect(backupsOf(botHost, "_staging_via-worker")).toEqual([]);
        const audit = (await store.readLog("audit")) as { kind: string; label?: string; via?: string }[];
        expect(audit.filter((l) => l.kind === "backup-started" && l.label === "via-worker")).toEqual([
          expect.objectContaining({ via: "slack", by: ALICE }),
        ]);
      } finally {
        await lock.release();
        worker.worker.kill("SIGTERM");
        await worker.worker.catch(() => undefined);
      }
    });

    it("/dbbackup cancel reaches the worker: its dump stops and the message says cancelled", async () => {
      const worker = await startWorker();
      const lock = await holdLock(tiny, "public.items");
      try {
        await ask("staging to-cancel");
        await waitForAsync(
          "the dump waiting on the lock",
          async () => ((await dbbackupWaitingOnLocks(tiny)) > 0 ? true : undefined),
          20_000,
        );
        const r = await ask("cancel");
        expect(String((JSON.parse(r.body) as { text?: string }).text)).toMatch(
          /Cancelling the staging backup/,
        );
        const failed = await slack.waitForCall(
          "chat.update",
          (c) => shown(c).includes("staging backup failed") && /cancel/i.test(shown(c)),
          30_000,
        );
        expect(shown(failed)).toContain("cancel");
      } finally {
        await lock.release();
      }
      expect(backupsOf(worker.host, "_staging_to-cancel")).toEqual([]);
      worker.worker.kill("SIGTERM");
      await worker.worker.catch(() => undefined);
    });
  });

  describe("two bots with DBBACKUP_RUN_ON=workers, one killed -9 while a worker runs its backup", () => {
    const SECRET = "worker-bots-signing-secret-0123456789";
    const CHANNEL = "C0OPS0012";
    let slack: FakeSlack;
    let bots: BotProcess[] = [];
    let botHosts: { dir: string; remove(): void }[] = [];
    const shown = (c: { body: Record<string, unknown> }) =>
      `${visibleText(c.body)} ${visibleText({ blocks: (c.body.attachments as { blocks?: unknown }[] | undefined)?.[0]?.blocks })}`;

    beforeAll(async () => {
      slack = await startFakeSlack();
      botHosts = [1, 2].map(() =>
        workdir({
          DATABASE_URL_STAGING: tiny,
          DBBACKUP_STATE_URL: stateUrl,
          DBBACKUP_RUN_ON: "workers",
          DBBACKUP_LEASE: "4s",
        }),
      );
      bots = await Promise.all(
        botHosts.map((h) => startBotProcess({ slack, signingSecret: SECRET, channel: CHANNEL, cwd: h.dir })),
      );
    });
    afterAll(async () => {
      await killAll(bots);
      await slack?.close();
      for (const h of botHosts) h.remove();
    });

    it("the other bot follows the job from there and finishes its message; nobody is told it was lost", async () => {
      const worker = await startWorker();
      const lock = await holdLock(tiny, "public.items");
      let ts: unknown;
      try {
        await slashCommand(bots[0]!.events, SECRET, {
          text: "staging followed",
          user_id: "U0ALICE01",
          channel_id: CHANNEL,
        });
        const started = await slack.waitForCall(
          "chat.postMessage",
          (c) => shown(c).includes("staging backup") && shown(c).includes("followed"),
          20_000,
        );
        ts = started.response.ts;
        await waitForAsync(
          "the worker's dump waiting on the lock",
          async () => ((await dbbackupWaitingOnLocks(tiny)) > 0 ? true : undefined),
          20_000,
        );
        await bots[0]!.kill();
      } finally {
        await lock.release();
      }
      const done = await slack.waitForCall(
        "chat.update",
        (c) => shown(c).includes("staging backup verified") && shown(c).includes("(followed)"),
        60_000,
      );
      // The same message, finished by the bot that took over.
      expect(done.body.ts).toBe(ts);
      expect(backupsOf(worker.host, "_staging_followed")).toHaveLength(1);
      const lost = slack.calls.filter((c) => /The bot running this backup stopped/.test(shown(c)));
      expect(lost).toEqual([]);
      const audit = (await store.readLog("audit")) as { kind: string; job?: string }[];
      expect(audit.filter((l) => l.kind === "job-followed-elsewhere")).toHaveLength(1);
      expect(audit.filter((l) => l.kind === "backup-interrupted")).toEqual([]);
      worker.worker.kill("SIGTERM");
      await worker.worker.catch(() => undefined);
    });
  });

  describe("a restore test queued for a worker that doesn't hold the backup", () => {
    let s3: S3TestServer;
    let keys: { dir: string; remove(): void };
    beforeAll(async () => {
      s3 = await startS3Server();
      keys = workdir();
    });
    afterAll(async () => {
      await s3?.remove();
      keys?.remove();
    });

    it("tests the bucket's copy: the host that took the backup may be gone", async () => {
      const keyFile = path.join(keys.dir, "key.txt");
      await execa("age-keygen", ["-o", keyFile]);
      const recipient = (await execa("age-keygen", ["-y", keyFile])).stdout.trim();
      const taker = await startWorker({ ...s3.env("fleet"), DBBACKUP_AGE_RECIPIENTS: recipient });
      await enqueue("fleet-backup", "e3", "fleet");
      const [backup] = await settled(["fleet-backup"]);
      expect(backup).toMatchObject({ status: "done", result: { offsite: { ok: true } } });
      const id = (backup?.result as { id: string }).id;
      taker.worker.kill("SIGTERM");
      await taker.worker.catch(() => undefined);
      const tester = await startWorker({ ...s3.env("fleet"), DBBACKUP_AGE_IDENTITY_FILE: keyFile });
      await queue.enqueue({
        id: "fleet-test",
        verb: "restore-test",
        env: "e3",
        args: { ref: id, from: "local" },
        requestedBy: "U0REQ0001",
        approvedBy: null,
        maxAttempts: 1,
      });
      const [test] = await settled(["fleet-test"]);
      expect(test?.error ?? null).toBeNull();
      expect(test).toMatchObject({ status: "done", result: { ok: true } });
      expect(backupsOf(tester.host, id)).toEqual([]);
      // "latest" is the newest of the env on any host, as the catalog says: that one, from the bucket.
      const latest = (jobId: string) =>
        queue.enqueue({
          id: jobId,
          verb: "restore-test",
          env: "e3",
          args: { ref: "latest", env: "e3", from: "local" },
          requestedBy: "U0REQ0001",
          approvedBy: null,
          maxAttempts: 1,
        });
      await latest("fleet-latest");
      const [newest] = await settled(["fleet-latest"]);
      expect(newest).toMatchObject({ status: "done", result: { ok: true, id } });
      tester.worker.kill("SIGTERM");
      await tester.worker.catch(() => undefined);
      // A worker with no bucket to fetch from says where the backup is instead of testing an older one.
      const plain = await startWorker();
      await latest("fleet-latest-unreachable");
      const [unreachable] = await settled(["fleet-latest-unreachable"]);
      expect(unreachable).toMatchObject({
        status: "failed",
        error: {
          code: "not_found",
          message: expect.stringContaining(`${id} is on ${os.hostname()}, not on this worker`),
        },
      });
      plain.worker.kill("SIGTERM");
      await plain.worker.catch(() => undefined);
    });
  });
});
