import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { verb as prune } from "../../commands/prune.js";
import { noticeView } from "../../commands/views/slack/guardrail-views.js";
import { renderNotice } from "../../commands/views/terminal/render-guardrails.js";
import { renderPrune } from "../../commands/views/terminal/render-retention.js";
import { type PruneResult, pruneBackups } from "../../src/backup/prune.js";
import { loadConfig } from "../../src/config.js";
import { runRetention } from "../../src/guardrails/jobs/retention.js";
import type { Notice } from "../../src/guardrails/notices.js";
import { loadGuardrailSettings } from "../../src/guardrails/settings.js";
import { type OffsiteDecision, planOffsiteRetention } from "../../src/offsite/retention.js";
import { annotate, type Pin } from "../../src/state/annotations.js";
import { workdir } from "../helpers/cli.js";
import { offsiteIndex, putCopies, s3ClientOf } from "../helpers/offsite-copies.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";
import { stateOf } from "../helpers/state.js";

/** Plain text, as a terminal without colours shows it. */
const PLAIN = { ok: String, warn: String, bad: String, dim: String, bold: String };
const index = (id: string) => offsiteIndex(id);

const ALICE_PIN: Pin = { reason: "audit 2026", by: "alice", at: "2026-11-05T10:00:00.000Z" };
const actions = (plan: OffsiteDecision[]) => plan.map((d) => `${d.action} ${d.id} (${d.reason})`);

describe("planOffsiteRetention: its own counts, per env, pins and the newest proven copy", () => {
  it("keeps the newest N on-demand and M pre-upgrade copies of each env, counted apart", () => {
    const copies = [
      "20261101_100000_staging",
      "20261102_100000_staging_migration-42",
      "20261103_100000_staging",
      "20261101_120000_staging_pre-upgrade",
      "20261102_120000_staging_pre-upgrade",
      "20261101_100000_prod",
    ].map((id) => index(id));
    const plan = planOffsiteRetention(copies, { keepOnDemand: 2, keepPreUpgrade: 1 }, new Map());
    expect(actions(plan)).toEqual([
      "keep 20261101_100000_prod (1st of the last 2 on-demand copies)",
      "keep 20261103_100000_staging (1st of the last 2 on-demand copies)",
      "keep 20261102_120000_staging_pre-upgrade (1st of the last 1 pre-upgrade copies)",
      "keep 20261102_100000_staging_migration-42 (2nd of the last 2 on-demand copies)",
      "delete 20261101_120000_staging_pre-upgrade (older than the last 1 pre-upgrade copies)",
      "delete 20261101_100000_staging (older than the last 2 on-demand copies)",
    ]);
    expect(plan.find((d) => d.id === "20261101_100000_staging")).toMatchObject({
      bytes: 1024,
      files: [
        "backups/20261101_100000_staging/db_full.dump.age",
        "backups/20261101_100000_staging/manifest.json.age",
      ],
    });
  });

  it("never deletes a pinned backup's copy; a pin still fills one of the N places", () => {
    const copies = ["20261101_100000_staging", "20261102_100000_staging", "20261103_100000_staging"].map(
      (id) => index(id),
    );
    const pins = new Map([["20261101_100000_staging", ALICE_PIN]]);
    const plan = planOffsiteRetention(copies, { keepOnDemand: 1, keepPreUpgrade: 1 }, pins);
    expect(actions(plan)).toEqual([
      "keep 20261103_100000_staging (1st of the last 1 on-demand copies)",
      "delete 20261102_100000_staging (older than the last 1 on-demand copies)",
      'keep 20261101_100000_staging (pinned by alice: "audit 2026")',
    ]);
    expect(plan.find((d) => d.id === "20261101_100000_staging")?.rule).toBe("pinned");
  });

  it("keeps each env's newest proven copy even when the counts are 0", () => {
    const copies = [
      "20261101_100000_staging",
      "20261102_100000_staging_pre-upgrade",
      "20261101_100000_prod_pre-upgrade",
    ].map((id) => index(id));
    const plan = planOffsiteRetention(copies, { keepOnDemand: 0, keepPreUpgrade: 0 }, new Map());
    expect(actions(plan)).toEqual([
      "keep 20261101_100000_prod_pre-upgrade (the newest prod copy proven off-site)",
      "keep 20261102_100000_staging_pre-upgrade (the newest staging copy proven off-site)",
      "delete 20261101_100000_staging (on-demand copies are not kept off-site (the count is 0))",
    ]);
    expect(plan.filter((d) => d.rule === "newest_proven")).toHaveLength(2);
  });
});

describe("prune with off-site copies set up (a real S3 server on 127.0.0.1)", () => {
  let server: S3TestServer;
  let client: S3Client;
  let work: { dir: string; remove(): void };
  const ids = [
    "20261101_100000_staging",
    "20261102_100000_staging",
    "20261103_100000_staging",
    "20261104_100000_staging",
    "20261101_120000_staging_pre-upgrade",
    "20261103_120000_staging_pre-upgrade",
    "20261101_100000_prod",
  ];
  const keysOf = (id: string) => [
    `backups/${id}/db_full.dump.age`,
    `backups/${id}/manifest.json.age`,
    `backups/${id}/offsite.json`,
  ];
  const config = (extra: Record<string, string> = {}) =>
    loadConfig({
      cwd: work.dir,
      env: {
        ...server.env("backups"),
        DBBACKUP_OFFSITE_KEEP_ON_DEMAND: "2",
        DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE: "1",
        ...extra,
      },
    });
  const run = (dryRun: boolean, extra: Record<string, string> = {}) =>
    pruneBackups({ config: config(extra), requestedBy: "tester", via: "terminal" }, { dryRun });
  const shown = (r: PruneResult) => renderPrune(r, PLAIN);

  beforeAll(async () => {
    server = await startS3Server();
    client = s3ClientOf(server);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.remove();
    work?.remove();
  });
  beforeEach(async () => {
    work?.remove();
    work = workdir();
    mkdirSync(path.join(work.dir, "backups"));
    await putCopies(client, server, ids);
    // Pinned locally (the state's annotation), though its folder here is long gone.
    await annotate(
      stateOf(path.join(work.dir, "backups")),
      "20261101_100000_staging",
      async () => {},
      (current) => ({ next: { ...current, pin: ALICE_PIN }, result: undefined }),
    );
  });
  afterEach(() => vi.restoreAllMocks());

  it("--dry-run says which copies would go and why, and deletes nothing", async () => {
    const before = server.keys();
    const r = await run(true);
    expect(server.keys()).toEqual(before);
    expect(r.offsite?.deleted).toEqual(["20261102_100000_staging", "20261101_120000_staging_pre-upgrade"]);
    const text = shown(r);
    expect(text).toContain(
      "Off-site (s3://dbbackup-test/backups): would delete 2 of 7 copies, freeing 2.0 KB.",
    );
    expect(text).toMatch(/ {2}delete +20261102_100000_staging +older than the last 2 on-demand copies/);
    expect(text).toMatch(/ {2}keep +20261101_100000_staging +pinned by alice: "audit 2026"/);
    expect(text).toContain("Run `dbbackup prune` to delete them.");
  });

  it("deletes the expired copies, each index first, keeps pinned and recent ones, audits each", async () => {
    const send = vi.spyOn(S3Client.prototype, "send");
    const r = await run(false);
    const deletes = send.mock.calls.flatMap(([command]) =>
      command instanceof DeleteObjectCommand ? [command.input.Key ?? ""] : [],
    );
    // Oldest first; the index goes before the files, so a cut-short delete never leaves a listed half copy.
    expect(deletes).toEqual([
      "backups/20261101_120000_staging_pre-upgrade/offsite.json",
      "backups/20261101_120000_staging_pre-upgrade/db_full.dump.age",
      "backups/20261101_120000_staging_pre-upgrade/manifest.json.age",
      "backups/20261102_100000_staging/offsite.json",
      "backups/20261102_100000_staging/db_full.dump.age",
      "backups/20261102_100000_staging/manifest.json.age",
    ]);
    const gone = ["20261101_120000_staging_pre-upgrade", "20261102_100000_staging"];
    expect(server.keys()).toEqual(
      ids
        .filter((id) => !gone.includes(id))
        .flatMap(keysOf)
        .sort(),
    );
    expect(shown(r)).toContain(
      "Off-site (s3://dbbackup-test/backups): deleted 2 of 7 copies, freeing 2.0 KB.",
    );
    expect(shown(r)).toMatch(/ {2}deleted +20261102_100000_staging +older than the last 2 on-demand copies/);
    expect(prune.terminal.exitCode?.(r)).toBe(0);
    const audit = readFileSync(path.join(work.dir, "backups", ".state", "audit.jsonl"), "utf8");
    expect(audit.split("\n").filter((l) => l.includes('"kind":"offsite-pruned"'))).toHaveLength(2);

    // Counts of 0: only the pinned copy and each env's newest proven one stay.
    const zero = await run(false, {
      DBBACKUP_OFFSITE_KEEP_ON_DEMAND: "0",
      DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE: "0",
    });
    expect(zero.offsite?.deleted.sort()).toEqual([
      "20261103_100000_staging",
      "20261103_120000_staging_pre-upgrade",
    ]);
    expect(server.keys()).toEqual(
      ["20261101_100000_prod", "20261101_100000_staging", "20261104_100000_staging"].flatMap(keysOf).sort(),
    );
    expect(shown(zero)).toMatch(/ {2}kept +20261104_100000_staging +the newest staging copy proven off-site/);
  });

  it("a delete the bucket's lock refuses is reported with its date, not as a failure (Object Lock, mocked)", async () => {
    // The listing and the indexes come from the real server; only what s3rver can't do is simulated.
    const realSend = S3Client.prototype.send as (
      this: S3Client,
      command: ListObjectsV2Command | GetObjectCommand,
    ) => Promise<unknown>;
    const mock = mockClient(S3Client);
    mock
      .on(ListObjectsV2Command)
      .callsFake((input) => realSend.call(client, new ListObjectsV2Command(input)));
    mock.on(GetObjectCommand).callsFake((input) => realSend.call(client, new GetObjectCommand(input)));
    const denied = () =>
      new S3ServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "Access Denied",
      });
    mock.on(DeleteObjectCommand).rejects(denied());
    mock
      .on(GetObjectRetentionCommand, { Key: "backups/20261101_120000_staging_pre-upgrade/offsite.json" })
      .resolves({ Retention: { Mode: "COMPLIANCE", RetainUntilDate: new Date("2027-06-01T00:00:00Z") } });
    mock
      .on(GetObjectRetentionCommand, { Key: "backups/20261102_100000_staging/offsite.json" })
      .rejects(denied());
    try {
      const r = await run(false);
      const text = shown(r);
      expect(text).toContain("2 copies the bucket would not let go: left in place, not an error.");
      expect(text).toContain("Off-site (s3://dbbackup-test/backups): deleted 0 of 7 copies, freeing 0 B.");
      expect(text).toMatch(
        / {2}retained +20261101_120000_staging_pre-upgrade +older than the last 1 pre-upgrade copies; retained by the bucket's lock until 2027-06-01 00:00 UTC/,
      );
      expect(text).toMatch(
        / {2}refused +20261102_100000_staging +older than the last 2 on-demand copies; the bot's credentials may not delete \(as the README's no-delete policy intends\); left in place/,
      );
      expect(text).not.toContain("FAILED");
      expect(prune.terminal.exitCode?.(r)).toBe(0);
      // Refused at the index: its files were never tried, so the copy stays whole and listed.
      expect(mock.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
        "backups/20261101_120000_staging_pre-upgrade/offsite.json",
        "backups/20261102_100000_staging/offsite.json",
      ]);
    } finally {
      mock.restore();
    }
    expect(server.keys()).toHaveLength(ids.length * 3);
  });

  it("the retention job after a backup prunes the bucket too and posts what went (terminal and Slack)", async () => {
    const cfg = config();
    const posted: Notice[] = [];
    const report = await runRetention(
      {
        config: cfg,
        settings: loadGuardrailSettings({}, cfg.environments.keys()),
        now: () => new Date(),
        post: async (n) => {
          posted.push(n);
        },
      },
      "after-backup",
    );
    expect(report.problems).toEqual([]);
    expect(posted).toHaveLength(1);
    const [notice] = posted;
    if (notice?.kind !== "pruned") throw new Error(`expected a pruned notice, got ${notice?.kind}`);
    expect(renderNotice(notice, PLAIN).split("\n")).toEqual([
      "Off-site retention deleted 2 copies, 2.0 KB:",
      "  20261102_100000_staging  1.0 KB  older than the last 2 on-demand copies",
      "  20261101_120000_staging_pre-upgrade  1.0 KB  older than the last 1 pre-upgrade copies",
    ]);
    const slack = JSON.stringify(noticeView(notice, { approvalEnvs: [] }).blocks);
    expect(slack).toContain("*Off-site* deleted 2 copies, 2.0 KB freed:");
    expect(slack).toContain("• `20261102_100000_staging` 1.0 KB: older than the last 2 on-demand copies");
    expect(server.keys()).not.toContain("backups/20261102_100000_staging/offsite.json");
  });
});
