import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampPart } from "../../src/backup/ids.js";
import { runCli, workdir } from "../helpers/cli.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";

// Backups made relative to now, so "--max-age" means what it says.
function idAgo(hours: number, env: string, label?: string): string {
  const at = new Date(Date.now() - hours * 3_600_000);
  return `${timestampPart(at)}_${env}${label ? `_${label}` : ""}`;
}

describe("dbbackup check (a CI gate)", () => {
  let work: { dir: string; remove(): void };
  const root = () => path.join(work.dir, "backups");

  beforeAll(() => {
    work = workdir({ DATABASE_URL_PROD: "postgresql://u@127.0.0.1:1/db" });
    writeBackupFolder(root(), makeManifest(idAgo(3, "prod", "pre-upgrade")));
    writeBackupFolder(root(), makeManifest(idAgo(1, "prod", "nightly")));
    // A newer pre-upgrade backup that never verified must not count.
    writeBackupFolder(
      root(),
      makeManifest(idAgo(0.5, "prod", "pre-upgrade"), { verification: { stage: null, stages: [] } }),
    );
  });
  afterAll(() => work?.remove());

  it("passes when a verified pre-upgrade backup is recent enough, with one line why", async () => {
    const r = await runCli(["check", "prod", "--require", "pre-upgrade", "--max-age", "24h"], {
      cwd: work.dir,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^ok: \d{8}_\d{6}_prod_pre-upgrade is a verified prod backup labelled pre-upgrade, 3h old$/,
    );
  });

  it("fails with exit 1 when it is too old, naming the newest it found", async () => {
    const r = await runCli(["check", "prod", "--require", "pre-upgrade", "--max-age", "2h", "--json"], {
      cwd: work.dir,
    });
    expect(r.exitCode).toBe(1);
    const body = JSON.parse(r.stdout) as { ok: boolean; reason: string; backup: { id: string } };
    expect(body.ok).toBe(false);
    expect(body.reason).toMatch(
      /^missing: no verified prod backup labelled pre-upgrade in the last 2h \(newest: .*_prod_pre-upgrade, 3h old\)$/,
    );
  });

  it("fails when no backup carries the label, and refuses bad arguments with exit 2", async () => {
    const none = await runCli(["check", "prod", "--require", "tenant-split"], { cwd: work.dir });
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toBe("missing: no verified prod backup labelled tenant-split at all");
    const any = await runCli(["check", "prod"], { cwd: work.dir });
    expect(any.exitCode).toBe(0);
    expect((await runCli(["check", "prod", "--max-age", "soon"], { cwd: work.dir })).exitCode).toBe(2);
    expect((await runCli(["check"], { cwd: work.dir })).exitCode).toBe(2);
  });
});
