import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod/v3";
import { parseClientVersion } from "../../src/backup/pgtools.js";
import { freePort, type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { type CliResult, runCli, startCli, workdir } from "../helpers/cli.js";
import { sql } from "../helpers/postgres.js";
import {
  holdLock,
  mountTmpfs,
  processesOf,
  type Tmpfs,
  tmpfsUnavailableReason,
  waitFor,
  waitForAsync,
} from "../helpers/servers.js";

/**
 * Every error a person can hit, through the real CLI: one line of what happened ("✖ …"), one of
 * what to do ("  → …"), the right exit code and JSON code, no password anywhere, and nothing
 * half-written that `list` would show.
 */

// Distinct, greppable secrets: none of them may ever reach stdout, stderr or a file under backups/.
const ADMIN_PASSWORD = "adm1n-Pw-9c1e4f"; // postgres on the password server
const WRONG_PASSWORD = "wr0ng-Pw-3b7d21";
const READER_PASSWORD = "r3ader-Pw-6a0f58";
const UNUSED_PASSWORD = "unused-Pw-2e9c44"; // in URLs to servers that never get to check it
const SECRETS = [ADMIN_PASSWORD, WRONG_PASSWORD, READER_PASSWORD, UNUSED_PASSWORD];

/** The CLI's exit codes: 1 the backup or check failed, 2 bad arguments or configuration. */
/** A Postgres 15 server that takes TCP connections only over SSL. */
const SSL_ONLY = {
  major: 15,
  ssl: true,
  hbaLines: [
    "local all all trust",
    "hostssl all all 127.0.0.1/32 trust",
    "hostnossl all all 127.0.0.1/32 reject",
  ],
};

const FAILED = 1;
const USAGE = 2;

const LABEL_RULES = "labels are 1–40 characters of a-z, 0-9, '.', '_' and '-'";

const localPgDump = parseClientVersion(execFileSync("pg_dump", ["--version"], { encoding: "utf8" }));
const tmpfsProblem = tmpfsUnavailableReason();

const errorDocument = z
  .object({
    ok: z.literal(false),
    error: z
      .object({
        code: z.string(),
        message: z.string().min(1),
        hint: z.string().min(1),
        log: z.string().optional(),
      })
      .strict(),
  })
  .strict();
type ErrorBody = z.infer<typeof errorDocument>["error"];

const listDocument = z.object({
  ok: z.literal(true),
  backups: z.array(z.object({ id: z.string() }).passthrough()),
  unreadable: z.array(z.unknown()),
  running: z.array(z.unknown()),
});

interface Work {
  dir: string;
  /** The backups folder (DBBACKUP_DIR), resolved. */
  root: string;
  /** Every CLI result of this folder, for the password scan. */
  results: CliResult[];
}

const made: { remove(): void }[] = [];

function newWork(dotenv: Record<string, string>): Work {
  const w = workdir(dotenv);
  made.push(w);
  const root = dotenv.DBBACKUP_DIR ? path.resolve(w.dir, dotenv.DBBACKUP_DIR) : path.join(w.dir, "backups");
  return { dir: w.dir, root, results: [] };
}

async function run(work: Work, args: string[], env?: Record<string, string>): Promise<CliResult> {
  const r = await runCli(args, { cwd: work.dir, timeoutMs: 60_000, ...(env ? { env } : {}) });
  work.results.push(r);
  return r;
}

function shown(r: CliResult): string {
  return `exit ${r.exitCode}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

interface HumanError {
  what: string;
  todo: string;
  log: string | undefined;
}

/** Human output: exit code, nothing on stdout, exactly one "✖ what" and one "  → what to do" line. */
function expectHumanError(r: CliResult, exitCode: number, words: (string | RegExp)[]): HumanError {
  expect(r.exitCode, shown(r)).toBe(exitCode);
  expect(r.stdout, shown(r)).toBe("");
  const lines = r.stderr.split("\n");
  const what = lines.filter((l) => l.startsWith("✖ "));
  const todo = lines.filter((l) => l.startsWith("  → "));
  expect(what, shown(r)).toHaveLength(1);
  expect(todo, shown(r)).toHaveLength(1);
  // What happened comes before what to do; the error is the last thing printed.
  expect(lines.indexOf(what[0]!), shown(r)).toBeLessThan(lines.indexOf(todo[0]!));
  const errorBlock = lines.slice(lines.indexOf(what[0]!)).join("\n");
  for (const word of words) {
    if (typeof word === "string") expect(errorBlock, shown(r)).toContain(word);
    else expect(errorBlock, shown(r)).toMatch(word);
  }
  const log = lines.find((l) => l.startsWith("  log: "))?.slice("  log: ".length);
  return { what: what[0]!, todo: todo[0]!, log };
}

/** --json: one document on stdout, {ok:false, error:{code,message,hint,log?}}, and the exit code. */
function expectJsonError(r: CliResult, exitCode: number, code: string): ErrorBody {
  expect(r.exitCode, shown(r)).toBe(exitCode);
  let parsed: unknown;
  expect(() => {
    parsed = JSON.parse(r.stdout);
  }, shown(r)).not.toThrow();
  const doc = errorDocument.parse(parsed);
  expect(doc.error.code, shown(r)).toBe(code);
  expect(r.stderr, shown(r)).not.toContain("✖");
  return doc.error;
}

function entries(root: string): string[] {
  return existsSync(root) ? readdirSync(root) : [];
}

/** `list --json` shows no backups, and the folder holds nothing but hidden bookkeeping. */
async function expectNothingListed(work: Work): Promise<void> {
  const r = await run(work, ["list", "--json"]);
  expect(r.exitCode, shown(r)).toBe(0);
  const doc = listDocument.parse(JSON.parse(r.stdout));
  expect(doc.backups).toEqual([]);
  expect(doc.unreadable).toEqual([]);
  expect(doc.running).toEqual([]);
  const names = entries(work.root);
  expect(names.filter((n) => !n.startsWith("."))).toEqual([]);
  expect(names.filter((n) => n.startsWith(".inprogress-"))).toEqual([]);
}

/** Refused before any work: not even the backups folder was made. */
function expectNothingCreated(work: Work): void {
  expect(existsSync(work.root), `${work.root} should not exist`).toBe(false);
  expect(readdirSync(work.dir)).toEqual([".env"]);
}

/** The failed run's log, where the error said: backups/.logs/<id>.log. */
function expectLog(work: Work, logFile: string | undefined, env: string): string {
  expect(logFile, "the error should name the run's log").toBeDefined();
  const file = logFile ?? "";
  expect(path.dirname(file)).toBe(path.join(work.root, ".logs"));
  expect(path.basename(file)).toMatch(new RegExp(`^\\d{8}_\\d{6}_${env}(_[a-z0-9._-]+)?\\.log$`));
  expect(existsSync(file), `${file} should exist`).toBe(true);
  return readFileSync(file, "utf8");
}

/** No password in anything the user saw, nor in any file dbbackup wrote. */
function expectNoSecrets(work: Work): void {
  const files = existsSync(work.root)
    ? readdirSync(work.root, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => path.join(d.parentPath, d.name))
    : [];
  for (const secret of SECRETS) {
    for (const r of work.results) {
      expect(r.stdout.includes(secret), `password in stdout: ${r.stdout}`).toBe(false);
      expect(r.stderr.includes(secret), `password in stderr: ${r.stderr}`).toBe(false);
    }
    for (const file of files) {
      expect(readFileSync(file, "latin1").includes(secret), `password in ${file}`).toBe(false);
    }
  }
}

function tcpUrl(
  server: ScratchServer,
  database: string,
  user = "postgres",
  password?: string,
  query = "",
): string {
  const auth = password === undefined ? user : `${user}:${encodeURIComponent(password)}`;
  return `postgresql://${auth}@127.0.0.1:${server.port}/${database}${query}`;
}

describe("errors a person can hit, through the real CLI", () => {
  let main: ScratchServer; // Postgres 15, trust
  let auth: ScratchServer; // Postgres 15, scram passwords over TCP
  let ssl: ScratchServer; // Postgres 15, SSL only over TCP
  let pg16: ScratchServer;
  let pg17: ScratchServer;
  let tmpfs: Tmpfs | undefined;

  beforeAll(async () => {
    [main, auth, ssl, pg16, pg17] = await Promise.all([
      startScratchServer({ major: 15 }),
      startScratchServer({ major: 15, password: ADMIN_PASSWORD }),
      startScratchServer(SSL_ONLY),
      startScratchServer({ major: 16 }),
      startScratchServer({ major: 17 }),
    ]);
    const admin = (db: string) => tcpUrl(auth, db, "postgres", ADMIN_PASSWORD);
    await Promise.all([
      (async () => {
        await sql(main.url(), "create database app");
        await sql(
          main.url("app"),
          "create table public.notes (id int primary key, body text); insert into notes values (1, 'hi')",
        );
        await sql(main.url(), "create database locks");
        await sql(
          main.url("locks"),
          `create table public.busy (id int primary key); insert into busy select generate_series(1, 100);
           create table public.slow (id int primary key); insert into slow select generate_series(1, 100);
           analyze busy; analyze slow;`,
        );
        if (tmpfsProblem === undefined) {
          // ~19 MB of hex text: gzip:1 can't squeeze it under the 3 MB tmpfs.
          await sql(main.url(), "create database big");
          await sql(
            main.url("big"),
            `create table public.hashes (id int primary key, a text, b text, c text);
             insert into hashes select g, md5(g::text), md5((g * 7)::text), md5((g * 13)::text)
               from generate_series(1, 200000) g`,
          );
        }
      })(),
      (async () => {
        await sql(admin("postgres"), "create database perm");
        await sql(
          admin("perm"),
          `create role reader login password '${READER_PASSWORD}';
           create table public.notes (id int primary key, body text);
           insert into notes values (1, 'readable');
           grant select on public.notes to reader;
           create table public.payroll (id int primary key, salary numeric);
           insert into payroll values (1, 100000);
           revoke all on public.payroll from public;
           revoke all on public.payroll from reader;`,
        );
      })(),
      sql(
        `${ssl.url()}?sslmode=no-verify`,
        "create table public.notes (id int primary key); insert into notes values (1)",
      ),
    ]);
    if (tmpfsProblem === undefined) tmpfs = mountTmpfs(3);
  });

  afterAll(async () => {
    tmpfs?.unmount();
    await Promise.all([main, auth, ssl, pg16, pg17].map((s) => s?.stop()));
    for (const w of made) w.remove();
  });

  describe("1. no URL", () => {
    it("staging with neither DATABASE_URL_STAGING nor DATABASE_URL gives the runbook's advice, not a socket error", async () => {
      // prod is configured (and reachable): staging must not borrow it.
      const work = newWork({ DATABASE_URL_PROD: main.url("app") });
      const human = expectHumanError(await run(work, ["pre-upgrade"]), USAGE, [
        "No database URL for staging",
        "DATABASE_URL_STAGING",
        "legacy DATABASE_URL",
        "--url",
      ]);
      expect(human.what).not.toMatch(/socket|ECONNREFUSED|localhost/i);
      const json = expectJsonError(await run(work, ["staging", "pre-upgrade", "--json"]), USAGE, "no_url");
      expect(json.message).toContain("staging");
      expect(json.hint).toContain("DATABASE_URL_STAGING");
      expect(json.log).toBeUndefined();
      expectNothingCreated(work);
    });

    it("prod with only DATABASE_URL set refuses: prod never falls back to the legacy variable", async () => {
      // DATABASE_URL points at a live server: a fallback would make this backup succeed.
      const work = newWork({ DATABASE_URL: main.url("app") });
      expectHumanError(await run(work, ["prod", "pre-upgrade"]), USAGE, [
        "No database URL for prod",
        "DATABASE_URL_PROD",
        "never falls back",
      ]);
      const json = expectJsonError(await run(work, ["prod", "--json"]), USAGE, "no_url");
      expect(json.message).toContain("prod");
      expect(json.hint).toContain("DATABASE_URL_PROD");
      expectNothingCreated(work);
    });
  });

  it("2. bad host: connection refused on a free port", async () => {
    const port = await freePort();
    const url = `postgresql://postgres:${UNUSED_PASSWORD}@127.0.0.1:${port}/postgres`;
    const work = newWork({ DATABASE_URL_STAGING: url });
    const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
      `127.0.0.1:${port}`,
      "connection refused",
      "DATABASE_URL_STAGING",
    ]);
    expect(human.todo).toMatch(/host and port/);
    expectLog(work, human.log, "staging");
    const json = expectJsonError(await run(work, ["--json"]), FAILED, "bad_host");
    expect(json.message).toContain(String(port));
    const log = expectLog(work, json.log, "staging");
    expect(log).toContain("FAILED [bad_host]");
    await expectNothingListed(work);
    expectNoSecrets(work);
  });

  it("3. wrong password: named as such, and the wrong password is printed nowhere", async () => {
    const work = newWork({ DATABASE_URL_STAGING: tcpUrl(auth, "postgres", "postgres", WRONG_PASSWORD) });
    const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
      "refused the password for user postgres",
      "DATABASE_URL_STAGING",
    ]);
    expect(human.todo).toMatch(/password/i);
    expectLog(work, human.log, "staging");
    const json = expectJsonError(await run(work, ["--json"]), FAILED, "wrong_password");
    expect(expectLog(work, json.log, "staging")).toContain("FAILED [wrong_password]");
    // The same password via --url, where the hint must name --url, not a variable.
    const viaUrl = expectJsonError(
      await run(work, ["--url", tcpUrl(auth, "postgres", "postgres", WRONG_PASSWORD), "--json"]),
      FAILED,
      "wrong_password",
    );
    expect(viaUrl.hint).toContain("--url");
    await expectNothingListed(work);
    expectNoSecrets(work);
  });

  it("4. port 6543 is refused before connecting, with the 5432 alternatives", async () => {
    const url = `postgresql://postgres.abcd:${UNUSED_PASSWORD}@127.0.0.1:6543/postgres?sslmode=require`;
    const work = newWork({ DATABASE_URL_STAGING: url });
    const human = expectHumanError(await run(work, ["pre-upgrade"]), USAGE, [
      "6543",
      "transaction pooler",
      "pg_dump",
    ]);
    expect(human.todo).toContain("5432");
    expect(human.todo).toContain("session pooler");
    expect(human.todo).toMatch(/direct host/);
    expect(human.log).toBeUndefined();
    const json = expectJsonError(await run(work, ["--url", url, "--json"]), USAGE, "port_6543");
    expect(json.message).toContain("transaction pooler");
    expect(json.message).toContain("postgresql://postgres.abcd:****@127.0.0.1:6543/postgres");
    expect(json.hint).toContain("session pooler");
    expect(json.log).toBeUndefined();
    expectNothingCreated(work);
    expectNoSecrets(work);
  });

  it("5. SSL required: sslmode=disable is refused with the fix; sslmode=require then works", async () => {
    const work = newWork({
      DATABASE_URL_STAGING: tcpUrl(ssl, "postgres", "postgres", undefined, "?sslmode=disable"),
    });
    const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
      "requires SSL",
      "sslmode=require",
    ]);
    expect(human.todo).toContain("sslmode=require");
    expect(human.todo).toContain("DATABASE_URL_STAGING");
    expectLog(work, human.log, "staging");
    const json = expectJsonError(await run(work, ["--json"]), FAILED, "ssl_required");
    expect(json.hint).toContain("sslmode=require");
    await expectNothingListed(work);

    const ok = await run(work, [
      "--url",
      tcpUrl(ssl, "postgres", "postgres", undefined, "?sslmode=require"),
      "--json",
    ]);
    expect(ok.exitCode, shown(ok)).toBe(0);
    const result = z
      .object({ ok: z.literal(true), id: z.string() })
      .passthrough()
      .parse(JSON.parse(ok.stdout));
    const list = listDocument.parse(JSON.parse((await run(work, ["list", "--json"])).stdout));
    expect(list.backups.map((b) => b.id)).toEqual([result.id]);
  });

  describe.skipIf(localPgDump === undefined || localPgDump.major >= 16)(
    `6. server newer than the machine's pg_dump (${localPgDump?.version ?? "none"})`,
    () => {
      it("Postgres 17: refused before dumping, naming both versions and postgresql-client-17", async () => {
        const work = newWork({ DATABASE_URL_STAGING: pg17.url() });
        const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
          /Postgres 17\.\d+/,
          localPgDump?.version ?? "",
          "postgresql-client-17",
        ]);
        expect(human.todo).toContain("postgresql-client-17");
        expectLog(work, human.log, "staging");
        const json = expectJsonError(await run(work, ["--json"]), FAILED, "client_too_old");
        expect(json.message).toMatch(/17\.\d+/);
        expect(json.message).toContain(localPgDump?.version ?? "");
        expect(json.hint).toContain("postgresql-client-17");
        expectLog(work, json.log, "staging");
        await expectNothingListed(work);
        expect(entries(work.root).filter((n) => ![".logs", ".state"].includes(n))).toEqual([]);
      });

      it("Postgres 16: the same, naming postgresql-client-16", async () => {
        const work = newWork({ DATABASE_URL_STAGING: pg16.url() });
        expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
          /Postgres 16\.\d+/,
          "postgresql-client-16",
        ]);
        const json = expectJsonError(await run(work, ["--json"]), FAILED, "client_too_old");
        expect(json.message).toMatch(/16\.\d+/);
        expect(json.message).toContain(localPgDump?.version ?? "");
        expect(json.hint).toContain("postgresql-client-16");
        await expectNothingListed(work);
        expect(entries(work.root).filter((n) => ![".logs", ".state"].includes(n))).toEqual([]);
      });
    },
  );

  it("7. permission denied on a table: names the table and what to do", async () => {
    const url = tcpUrl(auth, "perm", "reader", READER_PASSWORD);
    // The role can connect and read what it was granted: only the table is the problem.
    expect(await sql(url, "select body from public.notes")).toEqual([{ body: "readable" }]);
    const work = newWork({ DATABASE_URL_STAGING: url });
    const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, ["reader", "payroll"]);
    expect(human.what).toMatch(/permission denied|may not read/i);
    expect(human.todo).toMatch(/owner|GRANT SELECT/);
    expectLog(work, human.log, "staging");
    const json = expectJsonError(await run(work, ["--json"]), FAILED, "permission_denied");
    expect(json.message).toContain("payroll");
    expect(expectLog(work, json.log, "staging")).toContain("FAILED [permission_denied]");
    await expectNothingListed(work);
    expectNoSecrets(work);
  });

  it("7b. a role that can't use a schema: every unreadable thing named at once, and the hint's SQL works as printed", async () => {
    const admin = tcpUrl(auth, "postgres", "postgres", ADMIN_PASSWORD);
    await sql(admin, "create database noauth");
    const adminDb = tcpUrl(auth, "noauth", "postgres", ADMIN_PASSWORD);
    await sql(
      adminDb,
      `create role ho_reader login password '${READER_PASSWORD}';
       create schema auth;
       create table auth.users (id serial primary key, email text);
       create table auth.identities (id int primary key);
       insert into auth.users (email) values ('a@example.com');
       create table public.notes (id int primary key); insert into public.notes values (1);
       create table public.payroll (id int primary key);
       grant select on public.notes to ho_reader;`,
    );
    const work = newWork({ DATABASE_URL_STAGING: tcpUrl(auth, "noauth", "ho_reader", READER_PASSWORD) });
    const json = expectJsonError(await run(work, ["--json"]), FAILED, "permission_denied");
    expect(json.message).toBe(
      "ho_reader may not read schema auth (2 tables, 1 sequence), table public.payroll, so pg_dump would stop there; nothing was dumped.",
    );
    const statements = json.hint.split("have the owner run: ")[1] ?? "";
    expect(statements).toBe(
      "GRANT USAGE ON SCHEMA auth TO ho_reader; GRANT SELECT ON ALL TABLES IN SCHEMA auth TO ho_reader; GRANT SELECT ON ALL SEQUENCES IN SCHEMA auth TO ho_reader; GRANT SELECT ON public.payroll TO ho_reader;",
    );
    await expectNothingListed(work);
    // As printed, by the owner: then the same backup goes through.
    await sql(adminDb, statements);
    const after = await run(work, ["after-grants"]);
    expect(after.exitCode, shown(after)).toBe(0);
    expectNoSecrets(work);
  });

  it("8. lock wait timeout: a held lock fails the run fast, with who to look for", async () => {
    const work = newWork({ DATABASE_URL_STAGING: main.url("locks"), DBBACKUP_LOCK_WAIT_TIMEOUT: "2s" });
    const lock = await holdLock(main.url("locks"), "public.busy");
    try {
      const t0 = Date.now();
      const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [/lock/i, "pg_stat_activity"]);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(human.todo).toContain("DBBACKUP_LOCK_WAIT_TIMEOUT");
      expectLog(work, human.log, "staging");
      const t1 = Date.now();
      const json = expectJsonError(await run(work, ["--json"]), FAILED, "lock_timeout");
      expect(Date.now() - t1).toBeLessThan(20_000);
      expect(expectLog(work, json.log, "staging")).toContain("FAILED [lock_timeout]");
      // Whichever meets the lock first (our row count or pg_dump) decides the message above. With
      // estimates instead of counts only pg_dump meets it: its --lock-wait-timeout must read the same.
      const dumpOnly = expectJsonError(
        await run(work, ["--json"], { DBBACKUP_EXACT_COUNT_MAX_ROWS: "0" }),
        FAILED,
        "lock_timeout",
      );
      expect(dumpOnly.message).toContain("pg_dump");
      expect(dumpOnly.message).toContain("public.busy");
      expect(dumpOnly.hint).toContain("pg_stat_activity");
    } finally {
      await lock.release();
    }
    await expectNothingListed(work);
    // Once the lock is gone the same run succeeds: the failure was the lock, nothing else.
    const ok = await run(work, ["--json"]);
    expect(ok.exitCode, shown(ok)).toBe(0);
  });

  it.skipIf(tmpfsProblem !== undefined)(
    `9. disk full: a 3 MB tmpfs under DBBACKUP_DIR${tmpfsProblem ? ` (skipped: ${tmpfsProblem})` : ""}`,
    async () => {
      const dir = tmpfs?.dir ?? "";
      const root = path.join(dir, "backups");
      const work = newWork({
        DATABASE_URL_STAGING: main.url("big"),
        DBBACKUP_DIR: root,
        DBBACKUP_COMPRESS: "gzip:1",
      });
      const human = expectHumanError(await run(work, ["pre-upgrade"]), FAILED, [
        /The disk holding .*\/backups filled up/,
        "DBBACKUP_DIR",
      ]);
      expect(human.todo).toMatch(/Free space|bigger disk/);
      expectLog(work, human.log, "staging");
      await expectNothingListed(work);
      const json = expectJsonError(await run(work, ["--json"]), FAILED, "disk_full");
      expect(json.message).toMatch(/filled up/);
      expectLog(work, json.log, "staging");
      await expectNothingListed(work);
      expect(entries(root).filter((n) => n.startsWith(".inprogress-"))).toEqual([]);
    },
  );

  it("10. pg_dump killed (SIGKILL): named, nothing kept, log kept", { timeout: 90_000 }, async () => {
    const work = newWork({ DATABASE_URL_STAGING: main.url("locks"), DBBACKUP_LOCK_WAIT_TIMEOUT: "60s" });
    const lock = await holdLock(main.url("locks"), "public.slow");
    let exitedWithin: number | undefined;
    let r: CliResult;
    let running: ReturnType<typeof startCli> | undefined;
    try {
      running = startCli(["pre-upgrade", "--json"], { cwd: work.dir, timeoutMs: 80_000 });
      const dump = await waitFor("the full pg_dump to start", () =>
        processesOf("pg_dump").find(
          (p) => p.argv.includes("--format=custom") && p.argv.some((a) => a.includes(`:${main.port}/locks`)),
        ),
      );
      // Kill it mid-flight: once pg_dump, and every other session of this run, waits on the lock.
      await waitForAsync("dbbackup's sessions to wait on the held lock", async () => {
        const rows = await sql<{ dumps: number; busy: number }>(
          main.url(),
          `select count(*) filter (where query ilike 'LOCK TABLE%' and wait_event_type = 'Lock')::int as dumps,
                  count(*) filter (where state = 'active' and wait_event_type is distinct from 'Lock')::int as busy
             from pg_stat_activity where datname = 'locks' and application_name like 'dbbackup:%'`,
        );
        const row = rows[0];
        return row && row.dumps >= 1 && row.busy === 0 ? true : undefined;
      });
      const t0 = Date.now();
      process.kill(dump.pid, "SIGKILL");
      // The lock is still held: dbbackup must not sit waiting on it after its pg_dump died.
      const cli = running;
      const done = await Promise.race([
        cli.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 20_000)),
      ]);
      if (done) exitedWithin = Date.now() - t0;
      await lock.release();
      const result = await cli;
      r = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
      work.results.push(r);
    } finally {
      await lock.release();
      // Only if something above threw: don't leave our CLI running.
      if (running?.exitCode === null) running.kill("SIGKILL");
    }
    const json = expectJsonError(r, FAILED, "dump_killed");
    expect(json.message).toContain("SIGKILL");
    expect(json.message).toContain("pg_dump");
    expect(json.hint.length).toBeGreaterThan(10);
    expect(expectLog(work, json.log, "staging")).toContain("FAILED [dump_killed]");
    expect(exitedWithin, "dbbackup should exit promptly once pg_dump is killed").toBeDefined();
    await expectNothingListed(work);
    expect(
      processesOf("pg_dump").filter((p) => p.argv.some((a) => a.includes(`:${main.port}/locks`))),
    ).toEqual([]);
  });

  it(
    "13. the server stops mid-dump over SSL: it went away during the dump, after how long; not a connect failure",
    {
      timeout: 90_000,
    },
    async () => {
      const server = await startScratchServer(SSL_ONLY);
      try {
        const url = `${server.url()}?sslmode=no-verify`;
        await sql(
          url,
          "create table public.notes (id int primary key); insert into notes select generate_series(1, 100)",
        );
        const work = newWork({ DATABASE_URL_STAGING: `${tcpUrl(server, "postgres")}?sslmode=require` });
        const lock = await holdLock(url, "public.notes");
        const running = startCli(["pre-upgrade", "--json"], { cwd: work.dir, timeoutMs: 80_000 });
        try {
          // pg_dump has connected and read the catalog, and waits on the table's lock: then the server stops.
          await waitFor("pg_dump to run", () =>
            processesOf("pg_dump").find((p) => p.argv.some((a) => a.includes(`:${server.port}/postgres`))),
          );
          await waitForAsync("pg_dump to wait on the lock", async () => {
            const rows = await sql<{ n: number }>(
              url,
              "select count(*)::int as n from pg_stat_activity where query ilike 'LOCK TABLE%' and wait_event_type = 'Lock'",
            );
            return (rows[0]?.n ?? 0) > 0 ? true : undefined;
          });
          // Stopped with the lock still held: pg_dump is mid-dump when its server goes.
          await server.stop();
          await lock.release();
        } catch (error) {
          running.kill("SIGKILL"); // don't leave our CLI waiting on the lock
          throw error;
        }
        const result = await running;
        const r: CliResult = {
          exitCode: result.exitCode ?? -1,
          stdout: String(result.stdout),
          stderr: String(result.stderr),
        };
        work.results.push(r);
        const json = expectJsonError(r, FAILED, "connection_lost");
        expect(json.message).toMatch(
          /^The database server went away during the dump after \d+ s \(.+\); nothing was kept\.$/,
        );
        expect(json.message).not.toMatch(/Could not connect/);
        expect(json.hint).toMatch(/server is up again/);
        await expectNothingListed(work);
        expectNoSecrets(work);
      } finally {
        await server.stop();
      }
    },
  );

  describe("11. bad input", () => {
    const badLabels: [string, string][] = [
      ["a path trick", "../../etc"],
      ["a space", "pre upgrade"],
      ["5,000 characters", "a".repeat(5_000)],
      ["unicode", "vor-dem-übergang"],
    ];
    for (const [what, label] of badLabels) {
      it(`a label with ${what} is refused with the label rules (exit 2), nothing created`, async () => {
        const work = newWork({ DATABASE_URL_STAGING: main.url("app") });
        const human = expectHumanError(await run(work, [label]), USAGE, [LABEL_RULES]);
        expect(human.what.length).toBeLessThan(300);
        expect(human.todo).toContain("pre-upgrade");
        const json = expectJsonError(await run(work, ["staging", label, "--json"]), USAGE, "bad_label");
        expect(json.message).toContain(LABEL_RULES);
        expect(json.log).toBeUndefined();
        expectNothingCreated(work);
      });
    }

    it("an unknown option is a usage error (exit 2)", async () => {
      const work = newWork({ DATABASE_URL_STAGING: main.url("app") });
      expectHumanError(await run(work, ["--frobnicate", "pre-upgrade"]), USAGE, [
        'Unknown option "--frobnicate"',
        "help",
      ]);
      expectJsonError(await run(work, ["--frobnicate", "--json"]), USAGE, "usage");
      expectNothingCreated(work);
    });

    it("verify with an id that does not exist says so (exit 2)", async () => {
      const work = newWork({ DATABASE_URL_STAGING: main.url("app") });
      const id = "20200101_000000_staging_nope";
      expectHumanError(await run(work, ["verify", id]), USAGE, [id, "dbbackup list"]);
      const json = expectJsonError(await run(work, ["verify", id, "--json"]), USAGE, "not_found");
      expect(json.message).toContain(id);
      expectNothingCreated(work);
    });
  });

  it("12. config problems are named all at once (exit 2)", async () => {
    const work = newWork({
      DATABASE_URL_STAGING: main.url("app"),
      DBBACKUP_COMPRESS: "bogus",
      DBBACKUP_LOCK_WAIT_TIMEOUT: "soon",
    });
    expectHumanError(await run(work, ["pre-upgrade"]), USAGE, [
      "2 problems",
      'DBBACKUP_COMPRESS="bogus"',
      "gzip:4",
      'DBBACKUP_LOCK_WAIT_TIMEOUT="soon"',
      "60s",
      ".env",
    ]);
    const json = expectJsonError(await run(work, ["--json"]), USAGE, "config_invalid");
    expect(json.message).toContain("DBBACKUP_COMPRESS");
    expect(json.message).toContain("DBBACKUP_LOCK_WAIT_TIMEOUT");
    // list needs the same configuration, and says the same thing.
    expectJsonError(await run(work, ["list", "--json"]), USAGE, "config_invalid");
    expectNothingCreated(work);
  });
});
