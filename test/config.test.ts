import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { DbBackupError } from "../src/errors.js";

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(path.join(os.tmpdir(), "dbbackup-config-"));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function writeDotenv(text: string): void {
  writeFileSync(path.join(cwd, ".env"), text);
}

function configError(env: NodeJS.ProcessEnv): DbBackupError {
  try {
    loadConfig({ cwd, env });
  } catch (error) {
    if (error instanceof DbBackupError) return error;
    throw error;
  }
  throw new Error("loadConfig accepted the configuration");
}

const STAGING = "postgresql://postgres:s3cret@db.staging.supabase.co:5432/postgres?sslmode=require";
const PROD = "postgresql://postgres:pr0d@db.prod.supabase.co:5432/postgres?sslmode=require";
const LEGACY = "postgresql://postgres:legacy@db.legacy.supabase.co:5432/postgres?sslmode=require";

describe("loadConfig: environments", () => {
  it("reads DATABASE_URL_STAGING and DATABASE_URL_PROD from .env in the working folder", () => {
    writeDotenv(`DATABASE_URL_STAGING="${STAGING}"\nDATABASE_URL_PROD='${PROD}'\n`);
    const config = loadConfig({ cwd, env: {} });
    expect(config.environments.get("staging")).toEqual({
      name: "staging",
      url: STAGING,
      source: "DATABASE_URL_STAGING",
    });
    expect(config.environments.get("prod")).toEqual({ name: "prod", url: PROD, source: "DATABASE_URL_PROD" });
  });

  it("lets the process environment override .env", () => {
    writeDotenv(`DATABASE_URL_STAGING=${LEGACY}\n`);
    const config = loadConfig({ cwd, env: { DATABASE_URL_STAGING: STAGING } });
    expect(config.environments.get("staging")?.url).toBe(STAGING);
  });

  it("falls back to the legacy DATABASE_URL for staging, and says where it came from", () => {
    writeDotenv(`DATABASE_URL=${LEGACY}\n`);
    const config = loadConfig({ cwd, env: {} });
    expect(config.environments.get("staging")).toEqual({
      name: "staging",
      url: LEGACY,
      source: "DATABASE_URL",
    });
  });

  it("prefers DATABASE_URL_STAGING over the legacy DATABASE_URL", () => {
    const config = loadConfig({ cwd, env: { DATABASE_URL: LEGACY, DATABASE_URL_STAGING: STAGING } });
    expect(config.environments.get("staging")?.source).toBe("DATABASE_URL_STAGING");
    expect(config.environments.get("staging")?.url).toBe(STAGING);
  });

  it("never lets prod fall back to DATABASE_URL", () => {
    const config = loadConfig({ cwd, env: { DATABASE_URL: LEGACY } });
    expect(config.environments.has("prod")).toBe(false);
    expect([...config.environments.values()].filter((e) => e.url === LEGACY).map((e) => e.name)).toEqual([
      "staging",
    ]);
  });

  it("names other environments after DATABASE_URL_<NAME>: lower case, _ becomes -", () => {
    const config = loadConfig({
      cwd,
      env: { DATABASE_URL_EU_PROD: PROD, DATABASE_URL_QA: STAGING },
    });
    expect(config.environments.get("eu-prod")).toEqual({
      name: "eu-prod",
      url: PROD,
      source: "DATABASE_URL_EU_PROD",
    });
    expect(config.environments.get("qa")?.source).toBe("DATABASE_URL_QA");
    expect([...config.environments.keys()].sort()).toEqual(["eu-prod", "qa"]);
  });

  it("ignores blank URLs and trims whitespace around a URL", () => {
    const config = loadConfig({
      cwd,
      env: { DATABASE_URL_PROD: "   ", DATABASE_URL_STAGING: `  ${STAGING}  ` },
    });
    expect(config.environments.has("prod")).toBe(false);
    expect(config.environments.get("staging")?.url).toBe(STAGING);
  });

  it("has no environments when nothing is set (and does not read the real process.env)", () => {
    const config = loadConfig({ cwd, env: {} });
    expect(config.environments.size).toBe(0);
  });
});

describe("loadConfig: settings", () => {
  it("defaults: ./backups under the working folder, 60 s lock wait, compression chosen later", () => {
    const config = loadConfig({ cwd, env: { USER: "alice" } });
    expect(config.backupsDir).toBe(path.join(cwd, "backups"));
    expect(config.lockWaitTimeoutSeconds).toBe(60);
    expect(config.compress).toBeUndefined();
    expect(config.pgBinDir).toBeUndefined();
    expect(config.requestedBy).toBe("alice");
  });

  it("reads DBBACKUP_DIR relative to the working folder, and absolute paths as they are", () => {
    expect(loadConfig({ cwd, env: { DBBACKUP_DIR: "data/bk" } }).backupsDir).toBe(
      path.join(cwd, "data", "bk"),
    );
    expect(loadConfig({ cwd, env: { DBBACKUP_DIR: "/srv/backups" } }).backupsDir).toBe("/srv/backups");
  });

  it.each([
    ["60s", 60],
    ["90", 90],
    ["2min", 120],
    ["1500ms", 2],
  ])("DBBACKUP_LOCK_WAIT_TIMEOUT=%s is %i seconds", (value, seconds) => {
    expect(loadConfig({ cwd, env: { DBBACKUP_LOCK_WAIT_TIMEOUT: value } }).lockWaitTimeoutSeconds).toBe(
      seconds,
    );
  });

  it.each(["gzip:1", "zstd", "zstd:3", "lz4", "none", "6"])("accepts DBBACKUP_COMPRESS=%s", (value) => {
    expect(loadConfig({ cwd, env: { DBBACKUP_COMPRESS: value } }).compress).toBe(value);
  });

  it("records who asked: DBBACKUP_REQUESTED_BY before USER", () => {
    expect(loadConfig({ cwd, env: { DBBACKUP_REQUESTED_BY: "bob", USER: "alice" } }).requestedBy).toBe("bob");
  });

  it("retention counts: the runbook's 5 on-demand and 2 pre-upgrade by default, else as set", () => {
    expect(loadConfig({ cwd, env: {} }).retention).toEqual({ keepOnDemand: 5, keepPreUpgrade: 2 });
    writeDotenv("DBBACKUP_KEEP_PRE_UPGRADE=4\n");
    expect(loadConfig({ cwd, env: { DBBACKUP_KEEP_ON_DEMAND: "0" } }).retention).toEqual({
      keepOnDemand: 0,
      keepPreUpgrade: 4,
    });
  });

  it("refuses retention counts that are not whole numbers", () => {
    const error = configError({ DBBACKUP_KEEP_ON_DEMAND: "x", DBBACKUP_KEEP_PRE_UPGRADE: "2.5" });
    expect(error.message).toMatch(/^Configuration has 2 problems:/);
    expect(error.message).toContain('DBBACKUP_KEEP_ON_DEMAND="x": must be a whole number, 0 or more');
    expect(error.message).toContain('DBBACKUP_KEEP_PRE_UPGRADE="2.5": must be a whole number, 0 or more');
    expect(error.message).toContain("e.g. 5");
    expect(configError({ DBBACKUP_KEEP_ON_DEMAND: "-1" }).message).toContain("DBBACKUP_KEEP_ON_DEMAND");
    expect(configError({ DBBACKUP_KEEP_PRE_UPGRADE: "five" }).message).toContain("DBBACKUP_KEEP_PRE_UPGRADE");
  });

  it("reads an empty value as not set, for every setting (a copied example .env), in .env and the environment", () => {
    writeDotenv("DBBACKUP_COMPRESS=\nDBBACKUP_LEASE=\nDBBACKUP_DIR=./elsewhere\nPG_BIN_DIR=\n");
    const config = loadConfig({
      cwd,
      env: { DBBACKUP_KEEP_ON_DEMAND: "", DBBACKUP_LOCK_WAIT_TIMEOUT: "  ", DBBACKUP_DIR: "" },
    });
    expect(config).toMatchObject({
      compress: undefined,
      leaseMs: 60_000,
      pgBinDir: undefined,
      lockWaitTimeoutSeconds: 60,
      retention: { keepOnDemand: 5, keepPreUpgrade: 2 },
      // An empty variable in the environment doesn't hide the value in .env.
      backupsDir: path.join(cwd, "elsewhere"),
    });
  });

  it("takes PG_BIN_DIR", () => {
    expect(loadConfig({ cwd, env: { PG_BIN_DIR: "/opt/pg17/bin" } }).pgBinDir).toBe("/opt/pg17/bin");
  });
});

describe("loadConfig: problems", () => {
  it("names every problem at once, each with its fix, in one config_invalid error", () => {
    writeDotenv("DBBACKUP_COMPRESS=brotli\n");
    const error = configError({
      DBBACKUP_LOCK_WAIT_TIMEOUT: "forever",
      DBBACKUP_EXACT_COUNT_MAX_ROWS: "-5",
      DATABASE_URL_A_VERY_LONG_ENVIRONMENT_NAME_THAT_IS_TOO_LONG: STAGING,
    });
    expect(error.code).toBe("config_invalid");
    expect(error.message).toMatch(/^Configuration has 4 problems:/);
    const lines = error.message.split("\n").filter((l) => l.startsWith("  - "));
    expect(lines).toHaveLength(4);
    expect(error.message).toContain('DBBACKUP_COMPRESS="brotli"');
    expect(error.message).toContain("gzip:4");
    expect(error.message).toContain('DBBACKUP_LOCK_WAIT_TIMEOUT="forever"');
    expect(error.message).toContain("60s");
    expect(error.message).toContain("DBBACKUP_EXACT_COUNT_MAX_ROWS");
    expect(error.message).toContain("DATABASE_URL_A_VERY_LONG_ENVIRONMENT_NAME_THAT_IS_TOO_LONG");
    expect(error.hint).toContain(path.join(cwd, ".env"));
  });

  it("says 'problem' for just one", () => {
    const error = configError({ DBBACKUP_COMPRESS: "zstd:fast" });
    expect(error.message).toMatch(/^Configuration has 1 problem:\n {2}- DBBACKUP_COMPRESS="zstd:fast"/);
  });

  it("does not put a URL's password into a problem about another setting", () => {
    const error = configError({ DATABASE_URL_PROD: PROD, DBBACKUP_COMPRESS: "brotli" });
    expect(`${error.message}\n${error.hint}`).not.toContain("pr0d");
  });
});

describe("off-site settings", () => {
  const RECIPIENT = `age1${"q".repeat(58)}`;

  it("reads the bucket, prefix and store, and keeps the AWS keys out of anything printable", () => {
    const config = loadConfig({
      cwd,
      env: {
        DBBACKUP_OFFSITE_URL: "s3://acme-db-backups/supabase/eu",
        DBBACKUP_S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
        DBBACKUP_S3_REGION: "auto",
        DBBACKUP_S3_FORCE_PATH_STYLE: "true",
        DBBACKUP_AGE_RECIPIENTS: `${RECIPIENT}, ${RECIPIENT}`,
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret-that-must-not-print",
      },
    });
    expect(config.offsite).toMatchObject({
      bucket: "acme-db-backups",
      prefix: "supabase/eu",
      region: "auto",
      forcePathStyle: true,
      recipients: [RECIPIENT, RECIPIENT],
      keepOnDemand: 30,
      keepPreUpgrade: 10,
    });
    expect(config.offsite?.credentials?.().secretAccessKey).toBe("secret-that-must-not-print");
    expect(JSON.stringify(config)).not.toContain("secret-that-must-not-print");
  });

  it("refuses a private key pasted as a recipient without repeating it", () => {
    const privateKey = `AGE-SECRET-KEY-1${"Q".repeat(58)}`;
    const error = configError({
      DBBACKUP_OFFSITE_URL: "s3://acme-db-backups",
      DBBACKUP_AGE_RECIPIENTS: privateKey,
    });
    expect(error.message).toContain("DBBACKUP_AGE_RECIPIENTS: holds a private key");
    expect(error.message).not.toContain(privateKey);
    expect(error.message).not.toContain("AGE-SECRET-KEY-1Q");
  });

  it("names a bucket URL that isn't one", () => {
    expect(configError({ DBBACKUP_OFFSITE_URL: "https://acme.s3.amazonaws.com" }).message).toContain(
      "must be s3://bucket or s3://bucket/prefix",
    );
  });
});
