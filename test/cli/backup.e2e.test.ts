import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestSchema } from "../../src/backup/manifest.js";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { commandLinesOf, runCli, runShim, startCli, workdir } from "../helpers/cli.js";
import { catalogSummary, expectedFixture, loadFixture, sql } from "../helpers/postgres.js";

// A password with every character that breaks naive URL or passfile handling.
const PASSWORD = "p@ss:w0rd/#x\\y%z";
const ID_SHAPE = /^\d{8}_\d{6}_staging_pre-upgrade$/;

function urlFor(server: ScratchServer, database = "postgres"): string {
  return `postgresql://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/${database}`;
}

function backupFolders(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith(".")) : [];
}

/** Holds an ACCESS EXCLUSIVE lock on a table so pg_dump waits: a dump slow enough to watch. */
async function holdLock(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("begin");
  await client.query(`lock table ${table} in access exclusive mode`);
  return {
    async release() {
      await client.query("rollback").catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("dbbackup against Postgres 15 with the Supabase-shaped fixture", () => {
  let server: ScratchServer;
  let work: { dir: string; remove(): void };
  let url: string;
  let first: { exitCode: number; stdout: string; stderr: string };
  let cmdlines: string[] = [];

  beforeAll(async () => {
    server = await startScratchServer({ major: 15, password: PASSWORD });
    url = urlFor(server);
    await loadFixture(url, "supabase");
    work = workdir({ DATABASE_URL_STAGING: url, DATABASE_URL_PROD: url, DBBACKUP_LOCK_WAIT_TIMEOUT: "30s" });
    // Slow the dump down with a lock for a moment, and read every pg_dump command line meanwhile.
    const lock = await holdLock(url, "public.documents");
    const running = startCli(["pre-upgrade"], { cwd: work.dir });
    const seen = await waitFor("pg_dump to start", () => {
      // The one pg_dump (schema.sql is made from its archive).
      const lines = commandLinesOf("pg_dump").filter((l) => l.includes(String(server.port)));
      return lines.length >= 1 ? lines : undefined;
    });
    cmdlines = seen;
    await lock.release();
    const r = await running;
    first = { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  });

  afterAll(async () => {
    await server?.stop();
    work?.remove();
  });

  const root = () => path.join(work.dir, "backups");
  const onlyBackup = () => {
    const [name] = backupFolders(root());
    if (!name) throw new Error(`no backup folder; stderr: ${first.stderr}`);
    return path.join(root(), name);
  };

  it("takes a staging backup labelled pre-upgrade and says it reached stage 2", () => {
    expect(first.exitCode, first.stderr).toBe(0);
    expect(backupFolders(root())).toHaveLength(1);
    expect(path.basename(onlyBackup())).toMatch(ID_SHAPE);
    expect(first.stdout).toMatch(
      /✔ staging backup \d{8}_\d{6}_staging_pre-upgrade verified to stage 2 readable/,
    );
    expect(first.stdout).toContain("✔ stage 1 dumped");
    expect(first.stdout).toContain("✔ stage 2 readable");
    expect(first.stdout).toContain("PostgreSQL 15");
    expect(first.stdout).toMatch(/views\s+5, 2 with security_invoker=true/);
    expect(first.stdout).toMatch(/extensions\s+5: citext/);
    expect(first.stdout).toMatch(
      /pg_restore --clean --if-exists --no-owner --no-privileges -j4 -d "\$DATABASE_URL_STAGING" backups\/\d{8}_\d{6}_staging_pre-upgrade\/db_full\.dump/,
    );
  });

  it("writes the backup's audit lines, as the bot does for its own: started by whom from the terminal, then finished", () => {
    const lines = readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = lines.find((l) => l.kind === "backup-started" && l.label === "pre-upgrade");
    expect(started).toMatchObject({ env: "staging", via: "terminal", approvedBy: null });
    expect(typeof started?.by).toBe("string");
    expect(lines).toContainEqual(
      expect.objectContaining({
        kind: "backup-finished",
        job: started?.job,
        env: "staging",
        id: path.basename(onlyBackup()),
        stage: "readable",
      }),
    );
  });

  it("never puts the password in pg_dump's argv, the output, the log or the manifest", () => {
    expect(cmdlines.some((l) => l.includes("--format=custom"))).toBe(true);
    for (const line of cmdlines) {
      expect(line).toContain("--snapshot=");
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(encodeURIComponent(PASSWORD));
    }
    const logs = readdirSync(path.join(root(), ".logs")).map((f) =>
      readFileSync(path.join(root(), ".logs", f), "utf8"),
    );
    const manifest = readFileSync(path.join(onlyBackup(), "manifest.json"), "utf8");
    for (const text of [first.stdout, first.stderr, manifest, ...logs]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    }
    expect(logs.join("\n")).toContain("dumping contents of table");
    expect(manifest).toContain("postgres:****@127.0.0.1");
  });

  it("writes the runbook's five artifacts and a manifest that reads back", () => {
    const dir = onlyBackup();
    expect(readdirSync(dir).sort()).toEqual(
      [
        "db_full.dump",
        "extensions.tsv",
        "manifest.json",
        "schema.sql",
        "version.txt",
        "views_reloptions.tsv",
      ].sort(),
    );
    const manifest = manifestSchema.parse(JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")));
    expect(manifest.env).toBe("staging");
    expect(manifest.label).toBe("pre-upgrade");
    expect(manifest.requestedBy).toBe("tester");
    // The lock held to watch pg_dump also stops the sample: the default, and why.
    expect(manifest.compression).toBe("gzip:4");
    expect(manifest.compressionChoice?.why).toMatch(/^sample failed .*statement timeout/);
    expect(manifest.verification.stage).toBe("readable");
    expect(manifest.files.map((f) => f.name)).toContain("db_full.dump");
    for (const f of manifest.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    const expected = expectedFixture("supabase", 15);
    expect(manifest.catalog.counts.tables).toBe(expected.counts.tables);
    expect(manifest.catalog.counts.policies).toBe(expected.counts.policies);
    expect(manifest.catalog.securityInvokerViews).toBe(expected.counts.securityInvokerViews);
    expect(manifest.toc.counts.tables).toBe(expected.counts.tables);
    expect(manifest.catalog.tables.find((t) => t.schema === "auth" && t.name === "users")).toMatchObject({
      rows: expected.rowCounts["auth.users"],
      exact: true,
    });
    expect(readFileSync(path.join(dir, "schema.sql"), "utf8")).toContain("CREATE POLICY");
  });

  it("writes schema.sql as pg_dump -s would: the same text, materialized views not refreshed", async () => {
    // psql's \restrict key is random on every run; everything else must be the same line for line.
    const unkeyed = (text: string) => text.replace(/^\\(un)?restrict \S+$/gm, "\\$1restrict KEY");
    const { stdout } = await execa(
      "pg_dump",
      ["--schema-only", `--dbname=postgresql://postgres@127.0.0.1:${server.port}/postgres`],
      { env: { PGPASSWORD: PASSWORD }, stripFinalNewline: false },
    );
    const written = readFileSync(path.join(onlyBackup(), "schema.sql"), "utf8");
    expect(written).toContain("CREATE MATERIALIZED VIEW public.tenant_monthly_activity");
    expect(written).not.toContain("REFRESH MATERIALIZED VIEW");
    expect(unkeyed(written)).toBe(unkeyed(stdout));
  });

  it("passes the runbook's own quick checks", async () => {
    const dir = onlyBackup();
    const sh = (script: string) => execa("bash", ["-c", script], { cwd: dir }).then((r) => r.stdout);
    expect(await sh("head -1 version.txt")).toMatch(/^PostgreSQL 15\.\d+ /);
    const columns = (await sh("column -t -s $'\\t' extensions.tsv")).split("\n");
    expect(columns[0]).toMatch(/^name\s+version\s+schema$/);
    expect(columns.find((l) => l.startsWith("pgcrypto"))).toMatch(/^pgcrypto\s+[\d.]+\s+extensions$/);
    // 2 views with security_invoker=true and 1 with it explicitly false: the runbook's grep counts 3.
    expect((await sh("grep security_invoker views_reloptions.tsv | wc -l")).trim()).toBe("3");
    expect((await sh("grep -c 'security_invoker=true' views_reloptions.tsv")).trim()).toBe("2");
  });

  it("restores into a fresh server with the same objects and rows", async () => {
    const target = await startScratchServer({ major: 15 });
    try {
      // Supabase's roles exist on the real target; a vanilla server needs them before policies restore.
      await sql(
        target.url(),
        ["anon", "authenticated", "service_role", "supabase_admin", "authenticator"]
          .map((r) => `create role ${r} nologin;`)
          .join(""),
      );
      const restore = await execa(
        "pg_restore",
        [
          "--no-owner",
          "--no-privileges",
          "--exit-on-error",
          "-d",
          target.url(),
          path.join(onlyBackup(), "db_full.dump"),
        ],
        { reject: false },
      );
      expect(restore.stderr).toBe("");
      expect(restore.exitCode).toBe(0);
      const source = await catalogSummary(url);
      const restored = await catalogSummary(target.url());
      expect(restored.counts).toEqual(source.counts);
      expect(restored.rowCounts).toEqual(source.rowCounts);
      expect(restored.viewReloptions).toEqual(source.viewReloptions);
      expect(restored.extensions).toEqual(source.extensions);
    } finally {
      await target.stop();
    }
  });

  it("lists it, newest first, and re-verifies it; a tampered file fails verify", async () => {
    const list = await runCli(["list", "--json"], { cwd: work.dir });
    expect(list.exitCode).toBe(0);
    const listed = JSON.parse(list.stdout) as { backups: { id: string; stage: string; label: string }[] };
    expect(listed.backups.map((b) => b.id)).toEqual([path.basename(onlyBackup())]);
    expect(listed.backups[0]).toMatchObject({ stage: "readable", label: "pre-upgrade" });

    const id = path.basename(onlyBackup());
    const ok = await runCli(["verify", id], { cwd: work.dir });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`✔ ${id} still verifies`);

    const schemaFile = path.join(onlyBackup(), "schema.sql");
    const original = readFileSync(schemaFile, "utf8");
    try {
      writeFileSync(schemaFile, `${original}\n-- edited by hand\n`);
      const bad = await runCli(["verify", id, "--json"], { cwd: work.dir });
      expect(bad.exitCode).toBe(1);
      const body = JSON.parse(bad.stdout) as { ok: boolean; problem: string };
      expect(body.ok).toBe(false);
      expect(body.problem).toMatch(/schema\.sql sha256 \w+ differs from recorded/);
      const human = await runCli(["list"], { cwd: work.dir });
      expect(human.stdout).toContain("re-verify FAILED");
    } finally {
      writeFileSync(schemaFile, original);
    }
  });

  it("keeps the runbook's command line: backup_db.sh [prod] <label> [--url URL] [--no-restore-hint]", async () => {
    const prod = await runShim(["prod", "pre-upgrade", "--no-restore-hint"], { cwd: work.dir });
    expect(prod.exitCode, prod.stderr).toBe(0);
    expect(prod.stdout).toMatch(/✔ prod backup \d{8}_\d{6}_prod_pre-upgrade/);
    expect(prod.stdout).not.toContain("pg_restore --clean");

    const adhoc = await runShim(["--url", url, "manual"], { cwd: work.dir });
    expect(adhoc.exitCode, adhoc.stderr).toBe(0);
    expect(adhoc.stdout).toMatch(/✔ adhoc backup \d{8}_\d{6}_adhoc_manual/);
    expect(adhoc.stdout).toContain('-d "$TARGET_DATABASE_URL"');
    const names = backupFolders(root());
    expect(names.some((n) => /_adhoc_manual$/.test(n))).toBe(true);
    // A --url backup never claims an environment's name.
    expect(names.filter((n) => n.includes("manual")).every((n) => !/_(staging|prod)_/.test(n))).toBe(true);

    const list = await runCli(["list", "prod", "--json"], { cwd: work.dir });
    const prodOnly = JSON.parse(list.stdout) as { backups: { env: string }[] };
    expect(prodOnly.backups.map((b) => b.env)).toEqual(["prod"]);
  });

  it("prints exactly one JSON document on stdout with --json, with extension changes and exposed views", async () => {
    await sql(url, "create extension if not exists hstore");
    const r = await runCli(["--json", "json-check"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { ok: boolean; id: string; stage: string; restoreCommand: string };
    expect(body).toMatchObject({ ok: true, stage: "readable" });
    expect(body.id).toMatch(/_staging_json-check$/);
    const extra = body as unknown as {
      extensionChanges: { added: string[]; since: string };
      exposedViews: string[];
    };
    expect(extra.extensionChanges.added).toEqual(["hstore"]);
    expect(extra.extensionChanges.since).toMatch(/_staging_/);
    // The oracle: views anon or authenticated may select that lack security_invoker=true.
    const exposed = await sql<{ name: string }>(
      url,
      `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')
          and not coalesce(c.reloptions @> array['security_invoker=true'], false)
          and (has_table_privilege('anon', c.oid, 'SELECT') or has_table_privilege('authenticated', c.oid, 'SELECT'))
        order by 1`,
    );
    expect(exposed.length).toBeGreaterThan(0);
    expect(extra.exposedViews).toEqual(exposed.map((e) => e.name));
    const human = await runCli(["human-check"], { cwd: work.dir });
    expect(human.stdout).toMatch(/view\(s\) readable by anon\/authenticated without security_invoker=true/);
    expect(human.stdout).toMatch(/changes\s+extensions since \d{8}_\d{6}_staging_json-check: none/);
  });

  it("refuses a second backup of the same env while one runs, naming who holds it", async () => {
    const lock = await holdLock(url, "public.documents");
    const firstRun = startCli(["slow"], { cwd: work.dir, env: { USER: "alice" } });
    try {
      await waitFor("the first backup to hold the env lock", () =>
        readdirSync(root()).some((n) => n.startsWith(".inprogress-") && n.endsWith("_slow"))
          ? true
          : undefined,
      );
      const second = await runCli(["second"], { cwd: work.dir, env: { USER: "bob" } });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toMatch(
        /A staging backup is already running: alice started it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
      );
      expect(backupFolders(root()).some((n) => n.endsWith("_second"))).toBe(false);
    } finally {
      await lock.release();
    }
    const done = await firstRun;
    expect(done.exitCode).toBe(0);
  });

  it("leaves nothing listed when killed mid-dump, and the next run cleans up", async () => {
    const lock = await holdLock(url, "public.documents");
    const victim = startCli(["killed"], { cwd: work.dir });
    try {
      const hidden = await waitFor("an in-progress folder", () =>
        readdirSync(root()).find((n) => n.startsWith(".inprogress-") && n.endsWith("_killed")),
      );
      await waitFor("pg_dump to run", () =>
        commandLinesOf("pg_dump").some((l) => l.includes(String(server.port))) ? true : undefined,
      );
      victim.kill("SIGKILL");
      await victim;
      expect(existsSync(path.join(root(), hidden))).toBe(true);
      const list = await runCli(["list", "--json"], { cwd: work.dir });
      const ids = (JSON.parse(list.stdout) as { backups: { id: string }[] }).backups.map((b) => b.id);
      expect(ids.some((id) => id.endsWith("_killed"))).toBe(false);
      const log = readFileSync(
        path.join(root(), ".logs", `${hidden.slice(".inprogress-".length)}.log`),
        "utf8",
      );
      expect(log).toContain("step dump started");
    } finally {
      await lock.release();
    }
    // pg_dump dies with its parent (PR_SET_PDEATHSIG): gone within moments of the kill.
    await waitFor("the orphaned pg_dump to exit", () =>
      commandLinesOf("pg_dump").some((l) => l.includes(String(server.port))) ? undefined : true,
    );
    const next = await runCli(["after-kill"], { cwd: work.dir });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(
      /Cleaned up: removed the unfinished folder of a run that died: .*\.inprogress-\d{8}_\d{6}_staging_killed/,
    );
    expect(readdirSync(root()).some((n) => n.startsWith(".inprogress-"))).toBe(false);
  });
});

describe("older and newer servers", () => {
  it("backs up Postgres 14 with the machine's pg_dump 15 and says a newer client was used", async () => {
    const server = await startScratchServer({ major: 14 });
    const work = workdir({ DATABASE_URL_STAGING: server.url() });
    try {
      await loadFixture(server.url(), "supabase");
      const r = await runCli(["pg14"], { cwd: work.dir });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain("PostgreSQL 14");
      expect(r.stdout).toContain("dumped with pg_dump 15");
      expect(r.stdout).toContain("No pg_dump 14 found; using pg_dump 15");
      // Postgres 14 has no security_invoker; the count must say 0, not guess.
      expect(r.stdout).toMatch(/views\s+5, 0 with security_invoker=true/);
    } finally {
      await server.stop();
      work.remove();
    }
  });
});
