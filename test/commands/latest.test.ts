import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadVerbs } from "../../commands/kit/registry.js";
import { loadConfig } from "../../src/config.js";
import { slashRequest } from "../../src/slack/slash-request.js";
import { runCli, workdir } from "../helpers/cli.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";

describe("dbbackup latest ENV", () => {
  let work: { dir: string; remove(): void };
  const root = () => path.join(work.dir, "backups");

  beforeAll(() => {
    work = workdir({ DATABASE_URL_PROD: "postgresql://u@127.0.0.1:1/db" });
    writeBackupFolder(root(), makeManifest("20261128_010000_prod_nightly"));
    writeBackupFolder(root(), makeManifest("20261129_010000_prod_pre-upgrade"));
    // Newer, but never verified: not the one to restore.
    writeBackupFolder(
      root(),
      makeManifest("20261129_020000_prod_broken", { verification: { stage: null, stages: [] } }),
    );
  });
  afterAll(() => work?.remove());

  it("prints the id of the newest verified backup, for a script", async () => {
    const r = await runCli(["latest", "prod"], { cwd: work.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("20261129_010000_prod_pre-upgrade");
  });

  it("says what to do when there is none, and refuses a wrong env", async () => {
    const none = await runCli(["latest", "staging", "--json"], { cwd: work.dir });
    expect(none.exitCode).toBe(2);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, error: { code: "not_found" } });
    const wrong = await runCli(["latest", "qa"], { cwd: work.dir });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain('Unknown environment "qa"');
  });

  it("is offered in Slack and in both help texts, from its file alone", async () => {
    const registry = await loadVerbs();
    const config = loadConfig({ cwd: work.dir, env: {} });
    const request = slashRequest("latest prod", registry, config, ["prod"]);
    expect(request).toMatchObject({ verb: { name: "latest" }, args: { env: "prod" } });
    const help = await runCli(["help"], { cwd: work.dir });
    expect(help.stdout).toContain("dbbackup latest ENV");
    const slackHelp = await registry.required("help").run({ config, requestedBy: "U1" }, undefined);
    expect(JSON.stringify(registry.required("help").slack?.render(slackHelp, new Date(), "U1"))).toContain(
      "/dbbackup latest <env>",
    );
  });
});
