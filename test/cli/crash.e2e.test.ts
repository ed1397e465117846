import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod/v3";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { type CliResult, runCli, startCli, workdir } from "../helpers/cli.js";
import {
  cliProcessesIn,
  dbbackupSessions,
  filesContaining,
  fillDisk,
  killCliProcessesIn,
  pgDumpsOf,
  sizeOf,
  startCliInNamespace,
} from "../helpers/crash.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { sql } from "../helpers/postgres.js";
import { mountTmpfs, type Tmpfs, tmpfsUnavailableReason, waitFor, waitForAsync } from "../helpers/servers.js";

/**
 * Crashes through the real CLI: kill -9 mid-dump (here, and as PID 1 of another PID namespace, the way
 * a container dies) and a disk that fills up while the state is written. After each, nothing of the
 * dead run may be left: no pg_dump, no server session, no file holding the password, nothing listed.
 */

// Letters and digits only, so the URL holds it verbatim and a scan for it finds every copy.
const PASSWORD = `crashPw${randomBytes(9).toString("hex")}`;
/** The dump must still be running when we kill: some MB written, of a few hundred. */
const MID_DUMP_BYTES = 3 * 1024 * 1024;
const ID = (label: string) => new RegExp(`^\\d{8}_\\d{6}_staging_${label}$`);

const tmpfsProblem = tmpfsUnavailableReason();

const listDocument = z.object({
  ok: z.literal(true),
  backups: z.array(z.object({ id: z.string() }).passthrough()),
  unreadable: z.array(z.unknown()),
  running: z.array(z.unknown()),
});

function shown(r: CliResult): string {
  return `exit ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function resultOf(r: { exitCode?: number | undefined; stdout?: unknown; stderr?: unknown }): CliResult {
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

function entries(root: string): string[] {
  return existsSync(root) ? readdirSync(root) : [];
}

function inProgressOf(root: string, label: string): string | undefined {
  return entries(root).find((n) => n.startsWith(".inprogress-") && n.endsWith(`_staging_${label}`));
}

async function listJson(cwd: string): Promise<z.infer<typeof listDocument>> {
  const r = await runCli(["list", "--json"], { cwd, timeoutMs: 30_000 });
  expect(r.exitCode, shown(r)).toBe(0);
  return listDocument.parse(JSON.parse(r.stdout));
}

describe("kill -9 of a backup, against Postgres 15 with a password", () => {
  let server: ScratchServer;
  let url: string;
  const made: { dir: string; remove(): void }[] = [];

  const newWork = (env: Record<string, string> = {}) => {
    const w = workdir({ DATABASE_URL_STAGING: url, ...env });
    made.push(w);
    return { dir: w.dir, root: path.join(w.dir, "backups"), dotenv: path.join(w.dir, ".env") };
  };

  /** Nothing the dead run started survives it: pg_dump, sessions, and the password in any file. */
  async function expectNothingLeft(what: string): Promise<void> {
    await waitFor(
      `${what}: its pg_dump to exit`,
      () => (pgDumpsOf(server.port).length === 0 ? true : undefined),
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still running: ${JSON.stringify(pgDumpsOf(server.port))}`);
    });
    let last: unknown[] = [];
    await waitForAsync(
      `${what}: its server sessions to end`,
      async () => {
        last = await dbbackupSessions(url);
        return last.length === 0 ? true : undefined;
      },
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still there: ${JSON.stringify(last)}`);
    });
    // The .env files hold the URL (so the password): the test wrote them, dbbackup only reads them.
    const scan = filesContaining([os.tmpdir(), ...made.map((m) => m.dir)], PASSWORD, {
      skip: made.map((m) => path.join(m.dir, ".env")),
    });
    expect(scan.files).toBeGreaterThan(0);
    expect(scan.hits, `${what}: files holding the password`).toEqual([]);
  }

  beforeAll(async () => {
    server = await startScratchServer({ major: 15, password: PASSWORD });
    url = `postgresql://postgres:${PASSWORD}@127.0.0.1:${server.port}/postgres`;
    // ~290 MB of hex text in one unlogged table (no WAL), filled from two sessions at once: seconds.
    await sql(url, "create unlogged table public.big (id int, a text, b text, c text)");
    const half = 1_100_000;
    await Promise.all(
      [0, 1].map((i) =>
        sql(
          url,
          `insert into public.big
             select g, md5(g::text), md5((g * 7)::text), md5((g * 13)::text)
               from generate_series(${i * half + 1}, ${(i + 1) * half}) g`,
        ),
      ),
    );
    await sql(url, "analyze public.big");
  });

  afterAll(async () => {
    // Only if a test failed halfway: no CLI of ours may outlive the suite (their pg_dumps die with them).
    for (const m of made) killCliProcessesIn(m.dir);
    await waitFor(
      "our CLIs to exit",
      () => (made.some((m) => cliProcessesIn(m.dir).length > 0) ? undefined : true),
      10_000,
    ).catch(() => {});
    await server?.stop();
    for (const m of made) m.remove();
  });

  it(
    "killed mid-dump three times: nothing survives it, and the next backup cleans up and succeeds",
    { timeout: 180_000 },
    async () => {
      // gzip:9 writes a few MB a second: the dump is still going when we kill it.
      const work = newWork({ DBBACKUP_COMPRESS: "gzip:9" });
      // The scan below finds a copy of the password where there is one (else it proves nothing).
      const canary = path.join(work.dir, "canary.txt");
      writeFileSync(canary, `x\n${url}\n`);
      expect(
        filesContaining([os.tmpdir()], PASSWORD, { skip: made.map((m) => path.join(m.dir, ".env")) }).hits,
      ).toEqual([canary]);
      rmSync(canary);
      for (const round of [1, 2, 3]) {
        const label = `round${round}`;
        const victim = startCli(["staging", label], { cwd: work.dir, timeoutMs: 120_000 });
        try {
          const hidden = await waitFor(
            `round ${round}: the in-progress folder`,
            () => inProgressOf(work.root, label),
            30_000,
          );
          const dump = path.join(work.root, hidden, "db_full.dump");
          await waitFor(
            `round ${round}: db_full.dump to grow past ${MID_DUMP_BYTES} bytes`,
            () => (sizeOf(dump) > MID_DUMP_BYTES ? true : undefined),
            30_000,
          );
          const dumps = pgDumpsOf(server.port);
          expect(dumps.some((p) => p.argv.includes("--format=custom"))).toBe(true);
          // The password is in no pg_dump argument (it travels in PGPASSWORD).
          for (const p of dumps) expect(p.argv.join(" ")).not.toContain(PASSWORD);
          expect((await dbbackupSessions(url)).length).toBeGreaterThan(0);
          victim.kill("SIGKILL");
          const ended = await victim;
          expect(ended.signal).toBe("SIGKILL");
          const killed = resultOf(ended);
          expect(killed.stdout + killed.stderr).not.toContain(PASSWORD);
          // Each run starts by cleaning up after the one killed before it.
          if (round > 1) {
            expect(killed.stderr).toMatch(
              new RegExp(
                `Cleaned up: removed the unfinished folder of a run that died: .*/\\.inprogress-\\d{8}_\\d{6}_staging_round${round - 1}\n`,
              ),
            );
          }
          // Still mid-dump when it died: the folder is there, unfinished, and never became a backup.
          expect(existsSync(path.join(work.root, hidden))).toBe(true);
          expect(entries(work.root).filter((n) => !n.startsWith("."))).toEqual([]);
          const log = readFileSync(
            path.join(work.root, ".logs", `${hidden.slice(".inprogress-".length)}.log`),
            "utf8",
          );
          expect(log).toContain("step dump started");
          expect(log).not.toContain("step dump finished");
          expect(log).not.toContain(PASSWORD);
        } finally {
          if (victim.exitCode === null) victim.kill("SIGKILL");
          await victim;
        }
        await expectNothingLeft(`round ${round}`);
        const list = await listJson(work.dir);
        expect(list.backups).toEqual([]);
        expect(list.unreadable).toEqual([]);
        expect(list.running).toEqual([]);
      }

      // The next backup (uncompressed, to be quick) cleans up after the last killed run and succeeds.
      const next = await runCli(["staging", "after-crash"], {
        cwd: work.dir,
        env: { DBBACKUP_COMPRESS: "none" },
        timeoutMs: 120_000,
      });
      expect(next.exitCode, shown(next)).toBe(0);
      expect(next.stderr).toMatch(
        /Cleaned up: removed the unfinished folder of a run that died: .*\/\.inprogress-\d{8}_\d{6}_staging_round3\n/,
      );
      expect(next.stdout + next.stderr).not.toContain(PASSWORD);
      expect(entries(work.root).filter((n) => n.startsWith(".inprogress-"))).toEqual([]);
      expect(entries(work.root).filter((n) => !n.startsWith("."))).toEqual([
        expect.stringMatching(ID("after-crash")),
      ]);
      const list = await listJson(work.dir);
      expect(list.backups.map((b) => b.id)).toEqual([expect.stringMatching(ID("after-crash"))]);
      expect(list.running).toEqual([]);
      await expectNothingLeft("after the good backup");
    },
  );

  it(
    "killed as PID 1 of another PID namespace: the next run, in a third, waits out its lease and takes over",
    { timeout: 120_000 },
    async () => {
      const work = newWork();
      // Long enough that a loaded machine doesn't make the first run lose its own lease mid-dump.
      const lease = "6s";
      const first = startCliInNamespace("ns-one", ["staging", "ns1"], {
        cwd: work.dir,
        env: { DBBACKUP_LEASE: lease, DBBACKUP_COMPRESS: "gzip:9" },
        timeoutMs: 90_000,
      });
      let pinned: number | undefined;
      let second: CliResult;
      let secondMs = 0;
      /** How long ns1's lease still had to run when the second run started. */
      let leaseLeftMs = 0;
      let hidden = "";
      try {
        hidden = await waitFor("ns1: the in-progress folder", () => inProgressOf(work.root, "ns1"), 30_000);
        const dump = path.join(work.root, hidden, "db_full.dump");
        await waitFor(
          `ns1: db_full.dump to grow past ${MID_DUMP_BYTES} bytes`,
          () => (sizeOf(dump) > MID_DUMP_BYTES ? true : undefined),
          30_000,
        );
        expect(pgDumpsOf(server.port).length).toBeGreaterThan(0);
        // The host pid of the CLI that is PID 1 over there; killing it ends the namespace.
        const [pid, ...others] = cliProcessesIn(work.dir, { nsInit: true, arg: "ns1" });
        if (pid === undefined) throw new Error("no CLI runs as PID 1 of its own namespace");
        expect(others).toEqual([]);
        const namespace = readlinkSync(`/proc/${pid}/ns/pid`);
        expect(namespace).not.toBe(readlinkSync("/proc/self/ns/pid"));
        // The kernel hands a dead namespace's number to the next one it makes: ns2 would then share
        // ns1's number and see at once that pid 1 there is another process. Holding ns1's namespace
        // open keeps its number taken, as a container elsewhere on the host would: ns2 must wait.
        pinned = openSync(`/proc/${pid}/ns/pid`, "r");
        const leaseFile = path.join(work.root, ".state", "instances");
        const leaseName = readdirSync(leaseFile).find((name) =>
          readFileSync(path.join(leaseFile, name), "utf8").includes('"host":"ns-one"'),
        );
        expect(leaseName, "the first run's lease").toBeDefined();
        const readLease = () =>
          JSON.parse(readFileSync(path.join(leaseFile, leaseName ?? ""), "utf8")) as {
            host: string;
            pid: number;
            pidNamespace: string;
            leaseMs: number;
            expiresAt: string;
          };
        expect(readLease()).toMatchObject({
          host: "ns-one",
          pid: 1,
          pidNamespace: namespace,
          leaseMs: 6_000,
        });
        process.kill(pid, "SIGKILL");
        await first;
        // Gone with its namespace, pg_dump too. Its lock, lease and folder stay: nothing here saw it die.
        await waitFor(
          "ns1's pg_dump to exit",
          () => (pgDumpsOf(server.port).length === 0 ? true : undefined),
          10_000,
        );
        expect(existsSync(path.join(work.root, hidden))).toBe(true);

        const t0 = Date.now();
        leaseLeftMs = Date.parse(readLease().expiresAt) - t0;
        const r = await startCliInNamespace("ns-two", ["staging", "ns2"], {
          cwd: work.dir,
          env: { DBBACKUP_LEASE: lease, DBBACKUP_COMPRESS: "none" },
          timeoutMs: 60_000,
        });
        secondMs = Date.now() - t0;
        second = resultOf(r);
      } finally {
        if (first.exitCode === null) first.kill("SIGKILL");
        await first;
        killCliProcessesIn(work.dir);
        if (pinned !== undefined) closeSync(pinned);
      }
      expect(second.exitCode, shown(second)).toBe(0);
      expect(secondMs, "the second run, lease wait included").toBeLessThan(20_000);
      const waited =
        /! A staging backup \(\d{8}_\d{6}_staging_ns1, pid 1 on ns-one\) holds the staging lock but .*; waiting until \d\d:\d\d:\d\d UTC: taken over then unless it renews\./.test(
          second.stderr,
        );
      const tookOver =
        /! Took over the staging lock of a run that died \(\d{8}_\d{6}_staging_ns1, started by tester; its lease expired at \d\d:\d\d:\d\d UTC\)\./.test(
          second.stderr,
        );
      const released =
        /Cleaned up: released the backup:staging lock of a run that died \(\d{8}_\d{6}_staging_ns1, pid 1 on ns-one\)/.test(
          second.stderr,
        );
      if (leaseLeftMs > 2_500) {
        // Started well within ns1's lease: it can only have waited for it, then taken the lock over.
        expect(waited && tookOver, `${leaseLeftMs} ms of lease left\n${shown(second)}`).toBe(true);
      } else {
        // A slow start: the lease may have run out before it looked, then recovery released the lock.
        expect((waited && tookOver) || released, `${leaseLeftMs} ms of lease left\n${shown(second)}`).toBe(
          true,
        );
      }
      // The first run's partial folder is gone, and said so; the new backup is the only one.
      expect(existsSync(path.join(work.root, hidden))).toBe(false);
      expect(second.stderr).toContain(hidden);
      expect(entries(work.root).filter((n) => n.startsWith(".inprogress-"))).toEqual([]);
      const list = await listJson(work.dir);
      expect(list.backups.map((b) => b.id)).toEqual([expect.stringMatching(ID("ns2"))]);
      expect(list.running).toEqual([]);
      // No session of either run is left (ns1's ended with its connections, or by ns2's orphan step).
      expect(await dbbackupSessions(url)).toEqual([]);
      expect(pgDumpsOf(server.port)).toEqual([]);
    },
  );
});

describe.skipIf(tmpfsProblem !== undefined)(
  `disk full while writing the state${tmpfsProblem ? ` (skipped: ${tmpfsProblem})` : ""}`,
  () => {
    let tmpfs: Tmpfs | undefined;
    let work: { dir: string; remove(): void } | undefined;

    beforeAll(() => {
      tmpfs = mountTmpfs(2);
    });

    afterAll(() => {
      tmpfs?.unmount();
      work?.remove();
    });

    it("keep on a full disk fails with disk_full, names the disk, changes nothing; the state still reads", async () => {
      const root = path.join(tmpfs!.dir, "backups");
      const id = "20261123_203000_staging_pre-upgrade";
      writeBackupFolder(root, makeManifest(id));
      work = workdir({ DBBACKUP_DIR: root });
      const run = async (args: string[]) => runCli(args, { cwd: work!.dir, timeoutMs: 30_000 });

      const pinned = await run(["keep", id, "--reason", "first pin"]);
      expect(pinned.exitCode, shown(pinned)).toBe(0);
      const state = path.join(root, ".state");
      const documents = () =>
        readdirSync(state)
          .filter((n) => n.endsWith(".json") || n.endsWith(".jsonl"))
          .sort();
      const before = Object.fromEntries(
        documents().map((n) => [n, readFileSync(path.join(state, n), "utf8")]),
      );
      expect(Object.keys(before)).toEqual(expect.arrayContaining(["annotations.json", "audit.jsonl"]));

      const filled = fillDisk(tmpfs!.dir);
      expect(filled).toBeGreaterThan(0);

      const human = await run(["keep", id, "--reason", "second pin"]);
      expect(human.exitCode, shown(human)).toBe(1);
      expect(human.stdout, shown(human)).toBe("");
      expect(human.stderr, shown(human)).toMatch(
        new RegExp(
          `✖ The disk holding ${root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\.state\\S* is full: .*changed nothing`,
        ),
      );
      expect(human.stderr).toMatch(/ {2}→ Free space/);
      const json = await run(["keep", id, "--reason", "third pin", "--json"]);
      expect(json.exitCode, shown(json)).toBe(1);
      const error = z
        .object({
          ok: z.literal(false),
          error: z.object({ code: z.string(), message: z.string() }).passthrough(),
        })
        .parse(JSON.parse(json.stdout));
      expect(error.error.code).toBe("disk_full");
      expect(error.error.message).toContain(root);

      // Every document reads as before: same text, still valid JSON (a line per record for logs).
      const after = Object.fromEntries(
        documents().map((n) => [n, readFileSync(path.join(state, n), "utf8")]),
      );
      expect(after).toEqual(before);
      for (const [name, text] of Object.entries(after)) {
        if (name.endsWith(".jsonl")) {
          for (const line of text.split("\n").filter(Boolean))
            expect(() => JSON.parse(line), name).not.toThrow();
        } else {
          expect(() => JSON.parse(text), name).not.toThrow();
        }
      }
      expect(JSON.parse(after["annotations.json"] ?? "{}").backups[id].pin.reason).toBe("first pin");
      // No temporary files left behind by the failed writes.
      expect(
        readdirSync(state, { recursive: true })
          .map(String)
          .filter((n) => n.endsWith(".tmp")),
      ).toEqual([]);

      const list = await run(["list", "--json"]);
      expect(list.exitCode, shown(list)).toBe(0);
      const doc = listDocument.parse(JSON.parse(list.stdout));
      expect(doc.backups.map((b) => [b.id, (b as { pin?: { reason: string } }).pin?.reason])).toEqual([
        [id, "first pin"],
      ]);
    });
  },
);
