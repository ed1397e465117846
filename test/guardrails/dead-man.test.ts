import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { noticeView } from "../../commands/views/slack/guardrail-views.js";
import { renderNotice } from "../../commands/views/terminal/render-guardrails.js";
import { loadConfig } from "../../src/config.js";
import type { GuardrailContext } from "../../src/guardrails/context.js";
import { runVersions } from "../../src/guardrails/jobs/versions.js";
import type { Notice } from "../../src/guardrails/notices.js";
import { loadGuardrailSettings } from "../../src/guardrails/settings.js";
import { freePort } from "../../src/restore/scratch-server.js";
import { annotate } from "../../src/state/annotations.js";
import { workdir } from "../helpers/cli.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { stateOf } from "../helpers/state.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PLAIN = { ok: String, warn: String, bad: String, dim: String, bold: String };
const OFFSITE = {
  DBBACKUP_OFFSITE_URL: "s3://acme-db-backups/supabase",
  DBBACKUP_S3_ENDPOINT: "http://127.0.0.1:9",
};

/**
 * The dead-man alert's off-site half: with off-site copies set up, no backup of an env reaching the
 * bucket in DBBACKUP_DEAD_MAN_DAYS is alerted like no backup reaching stage 2. (The live version
 * check of the same job can't reach its database here: that is a problem of the run, not posted.)
 */
describe("the dead-man alert, with off-site copies", () => {
  const now = new Date("2026-11-23T10:00:00Z");
  let work: { dir: string; remove(): void };
  let posted: Notice[];
  let unreachable: string;
  const root = () => path.join(work.dir, "backups");

  const ctx = (at: Date, extra: Record<string, string> = {}): GuardrailContext => {
    const env = { DATABASE_URL_STAGING: unreachable, DBBACKUP_DEAD_MAN_DAYS: "7", ...extra };
    const config = loadConfig({ cwd: work.dir, env });
    return {
      config,
      settings: loadGuardrailSettings(env, config.environments.keys()),
      now: () => at,
      post: async (n) => {
        posted.push(n);
      },
    };
  };
  /** A stage-2 backup of staging, finished at `finishedAt`; with `provenAt`, its copy reached the bucket then. */
  const backup = async (id: string, finishedAt: string, provenAt?: string) => {
    writeBackupFolder(root(), makeManifest(id, { finishedAt }));
    if (!provenAt) return;
    await annotate(
      stateOf(root()),
      id,
      async () => {},
      (current) => ({
        next: {
          ...current,
          offsite: {
            ok: true,
            at: provenAt,
            by: "alice",
            provenAt,
            location: `s3://acme-db-backups/supabase/${id}/`,
          },
        },
        result: undefined,
      }),
    );
  };
  const deadMen = () => posted.filter((n) => n.kind === "dead-man");
  const terminal = (n: Notice | undefined) => (n ? renderNotice(n, PLAIN) : "");
  const slack = (n: Notice | undefined) => (n ? noticeView(n, { approvalEnvs: [] }) : undefined);

  beforeAll(async () => {
    unreachable = `postgresql://postgres@127.0.0.1:${await freePort()}/postgres`;
  });
  beforeEach(() => {
    work?.remove();
    work = workdir();
    mkdirSync(root(), { recursive: true });
    posted = [];
  });
  afterAll(() => work?.remove());

  it("alerts when backups reach stage 2 but none reached off-site in N days: once a day, quiet once one does", async () => {
    await backup("20261112_100000_staging", "2026-11-12T10:01:00Z", "2026-11-12T10:05:00Z");
    await backup("20261122_100000_staging", "2026-11-22T10:01:00Z");
    await runVersions(ctx(now, OFFSITE));
    await runVersions(ctx(new Date(now.getTime() + HOUR), OFFSITE));
    expect(deadMen()).toHaveLength(1);
    const [alert] = deadMen();
    expect(alert).toMatchObject({
      env: "staging",
      days: 7,
      noStage2: false,
      lastBackup: { id: "20261122_100000_staging" },
      offsite: { lastCopy: { id: "20261112_100000_staging", provenAt: "2026-11-12T10:05:00Z" } },
    });
    expect(terminal(alert)).toBe(
      "No staging backup reached off-site in 7 days (last copy: 20261112_100000_staging, proven 2026-11-12 10:05 UTC), though backups still reach stage 2 (newest: 20261122_100000_staging). Check the off-site settings and `dbbackup list --offsite`, then copy it: dbbackup offsite 20261122_100000_staging",
    );
    const message = slack(alert);
    expect(message?.text).toBe("No staging backup reached off-site in 7 days");
    expect(JSON.stringify(message?.attachments)).toContain(
      ":skull: *No staging backup has reached off-site in 7 days.*",
    );
    expect(JSON.stringify(message?.attachments)).toContain("`/dbbackup offsite 20261122_100000_staging`");

    await runVersions(ctx(new Date(now.getTime() + DAY), OFFSITE));
    expect(deadMen()).toHaveLength(2);
    posted = [];
    await backup("20261124_100000_staging", "2026-11-24T10:01:00Z", "2026-11-24T10:04:00Z");
    await runVersions(ctx(new Date(now.getTime() + 2 * DAY), OFFSITE));
    expect(deadMen()).toEqual([]);
  });

  it("says both in one message when nothing reached stage 2 or the bucket; says nothing of off-site when it isn't set up", async () => {
    await backup("20261110_100000_staging", "2026-11-10T10:01:00Z");
    await runVersions(ctx(now, OFFSITE));
    expect(deadMen()).toHaveLength(1);
    const [both] = deadMen();
    expect(both).toMatchObject({ noStage2: true, offsite: { lastCopy: null } });
    expect(terminal(both)).toBe(
      "No staging backup reached stage 2 in 7 days (last: 20261110_100000_staging), and none reached off-site (never). Take one now: dbbackup staging",
    );
    expect(JSON.stringify(slack(both)?.attachments)).toContain(
      ":skull: *No staging backup has reached stage 2 in 7 days, and none reached off-site.*",
    );

    posted = [];
    await runVersions(ctx(new Date(now.getTime() + DAY)));
    const [local] = deadMen();
    expect(local).toMatchObject({ noStage2: true });
    expect(local && "offsite" in local).toBe(false);
    expect(terminal(local)).toBe(
      "No staging backup reached stage 2 in 7 days (last: 20261110_100000_staging). Take one now: dbbackup staging",
    );
  });

  it("a fresh backup with a fresh off-site copy: no alert", async () => {
    await backup("20261122_100000_staging", "2026-11-22T10:01:00Z", "2026-11-22T10:03:00Z");
    const report = await runVersions(ctx(now, OFFSITE));
    expect(report.problems[0]).toMatch(/^staging: could not read the live version: /);
    expect(deadMen()).toEqual([]);
  });
});
