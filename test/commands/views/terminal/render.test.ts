import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackupResult, backupResult } from "../../../../commands/backup.js";
import type { ListResult } from "../../../../commands/list.js";
import {
  COLOR,
  PLAIN,
  renderBackup,
  renderError,
  renderList,
} from "../../../../commands/views/terminal/render.js";
import { listBackups } from "../../../../src/backup/catalog.js";
import type { Manifest } from "../../../../src/backup/manifest.js";
import { DbBackupError } from "../../../../src/errors.js";
import { formatAge, formatBytes, formatDuration, shortVersion, table } from "../../../../src/format.js";
import { makeManifest, writeBackupFolder } from "../../../helpers/manifest.js";
import { stateOf } from "../../../helpers/state.js";

const DUMP_SHA = "3f9a1c0be2d47e85a6b1f0c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9";
const ID = "20261123_203000_prod_pre-upgrade";
const CWD = "/srv/app";
const DIR = `${CWD}/backups/${ID}`;

function manifest(overrides: Partial<Manifest> = {}): Manifest {
  const m = makeManifest(ID, overrides);
  m.files[0] = { name: "db_full.dump", bytes: 157_286_400, sha256: DUMP_SHA };
  m.totalBytes = m.files.reduce((sum, f) => sum + f.bytes, 0);
  return m;
}

function result(m: Manifest = manifest(), withHint = true, dir = DIR): BackupResult {
  return backupResult(m, dir, withHint, CWD);
}

describe("renderBackup (plain)", () => {
  const text = renderBackup(result(), PLAIN);
  const lines = text.split("\n");

  it("starts with what was backed up and the stage it reached", () => {
    expect(lines[0]).toBe(`✔ prod backup ${ID} verified to stage 2 readable`);
  });

  it("names the folder and where the URL came from, password masked", () => {
    expect(text).toMatch(new RegExp(`folder +${DIR}\\n`));
    expect(text).toContain(
      "postgresql://postgres.abcd:****@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
    );
    expect(text).toContain("(DATABASE_URL_PROD)");
  });

  it("gives server version, pg_dump version and compression", () => {
    expect(text).toMatch(/server +PostgreSQL 15\.18, dumped with pg_dump 15\.18, gzip:1\n/);
    expect(text).not.toContain("x86_64-pc-linux-gnu");
  });

  it("says how the compression was chosen when the manifest records it, and nothing when it doesn't", () => {
    expect(text).not.toContain("compressed");
    const chosen = manifest({
      compressionChoice: {
        chosenBy: "sample",
        why: "sample of 0.5 MB from 3 tables: gzip:1 1.02x gzip:6's size, 1.31x faster",
      },
    });
    expect(renderBackup(result(chosen), PLAIN)).toContain(
      "compressed  gzip:1 (sample of 0.5 MB from 3 tables: gzip:1 1.02x gzip:6's size, 1.31x faster)\n",
    );
  });

  it("gives sizes in readable units", () => {
    expect(text).toMatch(
      /size +db_full\.dump 150 MB, schema\.sql 47\.1 KB, total 150 MB \(database 200 MB\)/,
    );
  });

  it("shows a short sha256 of the dump, not the whole digest", () => {
    expect(text).toContain(`sha256      db_full.dump ${DUMP_SHA.slice(0, 16)}…`);
    expect(text).not.toContain(DUMP_SHA);
  });

  it("counts extensions, views and those with security_invoker=true", () => {
    expect(text).toMatch(
      /extensions +5: citext 1\.6, pg_trgm 1\.6, pgcrypto 1\.3, plpgsql 1\.0, uuid-ossp 1\.1\n/,
    );
    expect(text).toMatch(/views +5, 2 with security_invoker=true\n/);
  });

  it("gives the TOC entries and counts, the duration and MB/s", () => {
    expect(text).toMatch(
      /TOC +144 entries: 11 tables \(10 with data\), 5 views, 11 policies, 4 extensions, 3 functions\n/,
    );
    // 200 MB of database in 42 s.
    expect(text).toMatch(/time +42\.0 s, 4\.8 MB\/s\n/);
  });

  it("lists the stages by name", () => {
    expect(lines).toContain("  ✔ stage 1 dumped  (120 ms)  5 files non-empty, sha256 recorded");
    expect(lines).toContain(
      "  ✔ stage 2 readable  (850 ms)  TOC agrees with the live catalog, every data block read",
    );
  });

  it("ends with the runbook's restore command, its URL left in the variable", () => {
    expect(lines.at(-2)).toBe(
      `  pg_restore --clean --if-exists --no-owner --no-privileges -j4 -d "$DATABASE_URL_PROD" backups/${ID}/db_full.dump`,
    );
    expect(text).toContain("Restore it");
  });

  it("leaves the restore command out with --no-restore-hint", () => {
    const quiet = renderBackup(result(manifest(), false), PLAIN);
    expect(quiet).not.toContain("pg_restore");
    expect(quiet).not.toContain("Restore it");
    expect(quiet).toContain("stage 2 readable");
  });

  it("prints warnings", () => {
    const warned = renderBackup(
      result(
        manifest({ warnings: ["No sslmode in the DATABASE_URL_PROD URL for db.x: add ?sslmode=require"] }),
      ),
      PLAIN,
    );
    expect(warned).toContain("  ! No sslmode in the DATABASE_URL_PROD URL for db.x: add ?sslmode=require\n");
  });

  it("shows a failed check's detail instead of the stage summary", () => {
    const m = manifest();
    const stage2 = m.verification.stages[1]!;
    m.verification.stages[1] = {
      ...stage2,
      ok: false,
      checks: [...stage2.checks, { name: "count:policies", ok: false, detail: "10 in archive but 11 live" }],
    };
    expect(renderBackup(result(m), PLAIN)).toContain(
      "  ✖ stage 2 readable  (850 ms)  count:policies: 10 in archive but 11 live",
    );
  });

  it("points a --url backup's restore at a variable, not at staging or prod", () => {
    const adhoc = makeManifest("20261123_203000_adhoc_manual");
    const r = backupResult(adhoc, `${CWD}/backups/${adhoc.id}`, true, CWD);
    const out = renderBackup(r, PLAIN);
    expect(out.split("\n")[0]).toBe(
      "✔ adhoc backup 20261123_203000_adhoc_manual verified to stage 2 readable",
    );
    expect(out).toContain('-d "$TARGET_DATABASE_URL"');
  });

  // commands/backup.ts restoreCommand() joins the dump path into the command unquoted, so a backups
  // folder with a space (DBBACKUP_DIR="/mnt/nightly backups") prints a command that runs pg_restore on
  // two wrong paths. Fix: shell-quote the path, e.g. `'${p.replace(/'/g, "'\\''")}'`.
  it("prints a restore command a shell reads as one path, even with a space in the folder", () => {
    const dir = `/mnt/nightly backups/${ID}`;
    const command = result(manifest(), true, dir).restoreCommand ?? "";
    const words = execFileSync("bash", ["-c", command.replace(/^pg_restore/, "printf '%s\\n'")], {
      encoding: "utf8",
    })
      .trimEnd()
      .split("\n");
    expect(words.at(-1)).toBe(`${dir}/db_full.dump`);
  });

  it("colours only with the COLOR style", () => {
    expect(text).not.toContain("\u001b[");
    expect(renderBackup(result(), COLOR)).toContain("\u001b[32m✔\u001b[39m");
  });
});

describe("renderList (plain)", () => {
  let root: string;
  let listing: ListResult;
  const now = new Date("2026-11-23T22:30:00.000Z");

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-render-"));
    writeBackupFolder(root, makeManifest("20261123_203000_prod_pre-upgrade"));
    writeBackupFolder(root, makeManifest("20261120_100000_prod"));
    writeBackupFolder(root, makeManifest("20261123_221000_staging_migration-42"));
    writeBackupFolder(
      root,
      makeManifest("20261101_090000_staging", {
        verification: { lastVerify: { at: "2026-11-22T00:00:00.000Z", ok: false, by: "bob" } },
      }),
    );
    mkdirSync(path.join(root, "20261122_000000_staging_broken"));
    listing = { ok: true, root, env: null, ...(await listBackups(root, stateOf(root))) };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("groups by env with a count, newest first, with label, size, age, stage and who", () => {
    const text = renderList(listing, PLAIN, now);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("prod (2)");
    expect(lines[1]?.split(/\s+/).filter(Boolean)).toEqual(["ID", "LABEL", "SIZE", "AGE", "STAGE", "BY"]);
    // prod: 20261123_203000 finished 42 s after 20:30:00, two hours before now.
    expect(lines[2]?.split(/\s{2,}/).filter(Boolean)).toEqual([
      "20261123_203000_prod_pre-upgrade",
      "pre-upgrade",
      "50.0 MB",
      "2h ago",
      "2 readable",
      "alice",
    ]);
    expect(lines[3]?.split(/\s{2,}/).filter(Boolean)).toEqual([
      "20261120_100000_prod",
      "-",
      "50.0 MB",
      "4d ago",
      "2 readable",
      "alice",
    ]);
    const staging = lines.indexOf("staging (2)");
    expect(staging).toBeGreaterThan(3);
    expect(lines[staging + 2]).toContain("20261123_221000_staging_migration-42");
    expect(lines[staging + 2]).toContain("19m ago");
    expect(lines[staging + 3]).toContain("20261101_090000_staging");
    expect(lines[staging + 3]).toContain("2 readable (re-verify FAILED)");
  });

  it("aligns the columns", () => {
    const lines = renderList(listing, PLAIN, now).split("\n");
    const header = lines[1] ?? "";
    expect(lines[2]?.indexOf("  pre-upgrade  ")).toBe(header.indexOf("LABEL") - 2);
    expect(lines[3]?.indexOf("4d ago")).toBe(header.indexOf("AGE"));
  });

  it("mentions folders it could not read, without listing them as backups", () => {
    const text = renderList(listing, PLAIN, now);
    expect(text).toContain(
      `not a backup (ignored): ${path.join(root, "20261122_000000_staging_broken")}: no manifest.json`,
    );
    expect(text).not.toMatch(/^ {2}20261122_000000_staging_broken/m);
  });

  it("shows a running backup", () => {
    const text = renderList(
      {
        ...listing,
        running: [
          {
            env: "prod",
            id: "20261123_222000_prod",
            requestedBy: "bob",
            startedAt: "2026-11-23T22:20:00.000Z",
          },
        ],
      },
      PLAIN,
      now,
    );
    expect(text).toContain("running: prod backup 20261123_222000_prod, started by bob 10m ago");
  });

  it("says so when there is nothing to list", () => {
    expect(
      renderList(
        { ok: true, root: "/srv/app/backups", env: "prod", backups: [], unreadable: [], running: [] },
        PLAIN,
        now,
      ),
    ).toBe("No backups of prod in /srv/app/backups.\n");
    expect(
      renderList({ ok: true, root: "/b", env: null, backups: [], unreadable: [], running: [] }, PLAIN, now),
    ).toBe("No backups in /b.\n");
  });
});

describe("renderError (plain)", () => {
  it("one line of what happened, one of what to do", () => {
    const error = new DbBackupError(
      "no_url",
      "No database URL for prod.",
      "Set DATABASE_URL_PROD in .env, or pass --url.",
    );
    expect(renderError(error, PLAIN)).toBe(
      "✖ No database URL for prod.\n  → Set DATABASE_URL_PROD in .env, or pass --url.\n",
    );
  });

  it("says where the log is when there is one", () => {
    const error = Object.assign(new DbBackupError("dump_failed", "pg_dump was killed.", "Run it again."), {
      logFile: "/srv/app/backups/.logs/20261123_203000_prod.log",
    });
    expect(renderError(error, PLAIN).split("\n")).toEqual([
      "✖ pg_dump was killed.",
      "  → Run it again.",
      "  log: /srv/app/backups/.logs/20261123_203000_prod.log",
      "",
    ]);
  });
});

describe("format", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KB"],
    [1536, "1.5 KB"],
    [150 * 1024 * 1024, "150 MB"],
    [5 * 1024 ** 3, "5.0 GB"],
    [3 * 1024 ** 4, "3.0 TB"],
    [2048 * 1024 ** 4, "2048 TB"],
  ])("formatBytes(%i) = %s", (bytes, shown) => {
    expect(formatBytes(bytes)).toBe(shown);
  });

  it.each([
    [450, "450 ms"],
    [1500, "1.5 s"],
    [42_000, "42.0 s"],
    [125_000, "2 min 5 s"],
    [3_600_000, "60 min 0 s"],
  ])("formatDuration(%i) = %s", (ms, shown) => {
    expect(formatDuration(ms)).toBe(shown);
  });

  // formatDuration rounds the seconds after taking the minutes: 119.6 s is "1 min 60 s".
  // Fix (src/cli/format.ts): round to whole seconds first, then split: const t = Math.round(s); `${Math.floor(t/60)} min ${t%60} s`.
  it("formatDuration never shows 60 s in a minute", () => {
    expect(formatDuration(119_600)).toBe("2 min 0 s");
  });

  it.each([
    ["2026-11-23T22:29:30.000Z", "30s ago"],
    ["2026-11-23T22:00:00.000Z", "30m ago"],
    ["2026-11-23T12:30:00.000Z", "10h ago"],
    ["2026-11-18T22:30:00.000Z", "5d ago"],
    ["2026-11-23T23:00:00.000Z", "0s ago"],
  ])("formatAge(%s) = %s", (iso, shown) => {
    expect(formatAge(new Date("2026-11-23T22:30:00.000Z"), iso)).toBe(shown);
  });

  it("shortVersion keeps 'PostgreSQL <version>' only", () => {
    expect(
      shortVersion("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc"),
    ).toBe("PostgreSQL 15.18");
  });

  it("table pads every column but the last", () => {
    expect(
      table([
        ["a", "bb", "c"],
        ["dddd", "e", "ffff"],
      ]),
    ).toEqual(["a     bb  c", "dddd  e   ffff"]);
  });
});

describe("renderList: pins (dbbackup keep)", () => {
  const now = new Date("2026-11-23T22:30:00.000Z");
  const base = { ok: true as const, root: "/b", env: null, unreadable: [], running: [] };
  const summary = (id: string, pin?: { reason: string; by: string; at: string }) => ({
    id,
    env: id.split("_")[2] ?? "",
    label: null,
    dir: `/b/${id}`,
    requestedBy: "alice",
    finishedAt: "2026-11-20T10:00:42.000Z",
    totalBytes: 1024,
    serverVersion: "PostgreSQL 15.18",
    stage: "readable" as const,
    ...(pin ? { pin } : {}),
  });

  it("adds a PIN column to an env with a pinned backup: the reason, or who pinned it", () => {
    const text = renderList(
      {
        ...base,
        backups: [
          summary("20261122_100000_prod", { reason: "", by: "bob", at: "2026-11-22T00:00:00Z" }),
          summary("20261121_100000_prod"),
          summary("20261120_100000_prod", {
            reason: "before tenant split",
            by: "alice",
            at: "2026-11-21T00:00:00Z",
          }),
          summary("20261120_100000_staging"),
        ],
      },
      PLAIN,
      now,
    );
    const lines = text.split("\n");
    expect(lines[1]?.trim().split(/\s+/)).toEqual(["ID", "LABEL", "SIZE", "AGE", "STAGE", "BY", "PIN"]);
    expect(lines[2]?.split(/\s{2,}/).at(-1)).toBe("pinned by bob");
    expect(lines[3]?.split(/\s{2,}/).at(-1)).toBe("-");
    expect(lines[4]?.split(/\s{2,}/).at(-1)).toBe("pinned: before tenant split");
    // staging has no pin: no PIN column there.
    const staging = lines.indexOf("staging (1)");
    expect(lines[staging + 1]?.trim().split(/\s+/)).toEqual(["ID", "LABEL", "SIZE", "AGE", "STAGE", "BY"]);
  });
});

describe("renderList: restore tests", () => {
  const now = new Date("2026-11-23T22:30:00.000Z");
  const row = (id: string, stage: "readable" | "restored", restoreTest?: { ok: boolean; at: string }) => ({
    id,
    env: "prod",
    label: null,
    dir: `/b/${id}`,
    requestedBy: "alice",
    finishedAt: "2026-11-20T10:00:42.000Z",
    totalBytes: 1024,
    serverVersion: "PostgreSQL 15.18",
    stage,
    ...(restoreTest ? { restoreTest: { ...restoreTest, by: "bob", ms: 9000 } } : {}),
  });

  it("shows the last restore test of each backup, so a failed one never looks like one never tested", () => {
    const text = renderList(
      {
        ok: true,
        root: "/b",
        env: null,
        unreadable: [],
        running: [],
        backups: [
          row("20261122_100000_prod", "restored", { ok: true, at: "2026-11-23T20:30:00Z" }),
          row("20261121_100000_prod", "readable", { ok: false, at: "2026-11-21T22:30:00Z" }),
          row("20261120_100000_prod", "readable"),
        ],
      },
      PLAIN,
      now,
    );
    const lines = text.split("\n");
    expect(lines[1]?.trim().split(/\s{2,}/)).toEqual([
      "ID",
      "LABEL",
      "SIZE",
      "AGE",
      "STAGE",
      "BY",
      "RESTORE TEST",
    ]);
    expect(lines[2]?.split(/\s{2,}/).slice(-2)).toEqual(["alice", "passed 2h ago"]);
    expect(lines[3]?.split(/\s{2,}/).slice(-3)).toEqual(["2 readable", "alice", "FAILED 2d ago"]);
    expect(lines[4]?.split(/\s{2,}/).slice(-3)).toEqual(["2 readable", "alice", "-"]);
  });
});
