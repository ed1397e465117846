import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import dotenv from "dotenv";
import { z } from "zod/v3";
import { DbBackupError } from "./errors.js";
import { OFFSITE_FIXES, type OffsiteSettings, offsiteSchema, offsiteSettings } from "./offsite-settings.js";

/** Where an environment's URL came from: shown to the user so a legacy fallback is never a surprise. */
export type UrlSource = `DATABASE_URL_${string}` | "DATABASE_URL" | "--url";

export interface EnvironmentConfig {
  name: string;
  url: string;
  source: UrlSource;
}

export interface Config {
  backupsDir: string;
  /** Configured environments by lower-case name; staging may come from legacy DATABASE_URL. */
  environments: Map<string, EnvironmentConfig>;
  compress?: string;
  lockWaitTimeoutSeconds: number;
  pgBinDir?: string;
  /** Tables at or under this many estimated rows get an exact count at dump time. */
  exactCountMaxRows: number;
  /** Who asked, recorded in the manifest. */
  requestedBy: string;
  /** `dbbackup prune`: how many backups per env to keep (on-demand = any label but "pre-upgrade"). */
  retention: { keepOnDemand: number; keepPreUpgrade: number };
  /**
   * An instance's lease: a killed process's locks and jobs are taken over at most this long after its
   * last renewal (renewed every quarter of it).
   */
  leaseMs: number;
  /** DBBACKUP_STATE_URL: the state in a Postgres database shared by replicas and workers. */
  stateUrl?: string;
  /** Where the bot's backups and restore tests run: itself, or queued for `dbbackup worker`. */
  runOn: "here" | "workers";
  /** How many workers may try a queued job whose worker died. */
  workerAttempts: number;
  /** A table that lost more than this percentage of its rows since the last backup is flagged. */
  rowDropPercent: number;
  /** Encrypted copies in an S3-compatible bucket, when DBBACKUP_OFFSITE_URL is set. */
  offsite?: OffsiteSettings;
}

/** Env names go into folder names and ids, so `_` (the id separator) becomes `-`: DATABASE_URL_EU_PROD → eu-prod. */
export const ENV_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** The env argument every verb takes, checked the same way everywhere. */
export const envNameSchema = z
  .string()
  .regex(ENV_NAME, "environment names are lower-case letters, digits and -");

const COMPRESS = /^(none|[0-9]|gzip(:[1-9])?|lz4(:[0-9]{1,2})?|zstd(:[0-9]{1,2})?)$/;

const schema = z
  .object({
    DBBACKUP_DIR: z.string().min(1).default("./backups"),
    DBBACKUP_COMPRESS: z
      .string()
      .regex(COMPRESS, "must be none, 0-9, gzip[:1-9], lz4[:N] or zstd[:N]")
      .optional(),
    DBBACKUP_LOCK_WAIT_TIMEOUT: z
      .string()
      .regex(/^[0-9]+(s|ms|min)?$/, "must be a duration like 60s, 500ms or 2min")
      .refine(
        (v) => Number.parseInt(v, 10) > 0,
        "must be more than 0 (0 would let pg_dump wait on a lock forever)",
      )
      .default("60s"),
    DBBACKUP_EXACT_COUNT_MAX_ROWS: z.coerce
      .number()
      .int("must be a whole number")
      .nonnegative("must be 0 or more")
      .default(1_000_000),
    PG_BIN_DIR: z.string().min(1).optional(),
    // A string first: z.coerce would read an empty value as 0, i.e. "keep none".
    DBBACKUP_KEEP_ON_DEMAND: z
      .string()
      .regex(/^[0-9]{1,6}$/, "must be a whole number, 0 or more")
      .default("5")
      .transform(Number),
    DBBACKUP_KEEP_PRE_UPGRADE: z
      .string()
      .regex(/^[0-9]{1,6}$/, "must be a whole number, 0 or more")
      .default("2")
      .transform(Number),
    DBBACKUP_ROW_DROP_ALERT: z
      .string()
      .regex(/^[0-9]{1,3}%?$/, "must be a percentage like 10%")
      .transform((v) => Number.parseInt(v, 10))
      .refine((p) => p >= 1 && p <= 100, "must be between 1% and 100%")
      .default("10%"),
    DBBACKUP_LEASE: z
      .string()
      .regex(/^[0-9]+(ms|s|m|min)?$/, "must be a duration like 60s or 2min")
      .transform(milliseconds)
      .refine((ms) => ms >= 2_000 && ms <= 600_000, "must be between 2s and 10min")
      .default("60s"),
    DBBACKUP_RUN_ON: z.enum(["here", "workers"]).default("here"),
    DBBACKUP_WORKER_ATTEMPTS: z
      .string()
      .regex(/^[1-5]$/, "must be 1 to 5")
      .transform((v) => Number(v))
      .default("1"),
    DBBACKUP_STATE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/[^\s]+$/, "must be a postgresql:// URL of a database for dbbackup's state")
      .optional(),
  })
  .merge(offsiteSchema);

const FIXES: Record<string, string> = {
  ...OFFSITE_FIXES,
  DBBACKUP_COMPRESS:
    "e.g. DBBACKUP_COMPRESS=gzip:4 (pg_dump ≤ 15) or zstd:3 (pg_dump ≥ 16), or leave it unset",
  DBBACKUP_LOCK_WAIT_TIMEOUT: "e.g. DBBACKUP_LOCK_WAIT_TIMEOUT=60s",
  DBBACKUP_EXACT_COUNT_MAX_ROWS: "a whole number of rows, e.g. 1000000",
  DBBACKUP_DIR: "a folder path, e.g. ./backups",
  PG_BIN_DIR: "a folder that holds pg_dump, e.g. /usr/lib/postgresql/17/bin",
  DBBACKUP_KEEP_ON_DEMAND: "how many on-demand backups per env prune keeps, e.g. 5",
  DBBACKUP_KEEP_PRE_UPGRADE: "how many pre-upgrade backups per env prune keeps, e.g. 2",
  DBBACKUP_ROW_DROP_ALERT:
    "e.g. DBBACKUP_ROW_DROP_ALERT=10%: flag a table that lost more than that share of its rows",
  DBBACKUP_LEASE: "e.g. DBBACKUP_LEASE=60s; a killed run's locks are taken over this long after it stopped",
  DBBACKUP_RUN_ON:
    "here (the bot runs backups itself) or workers (queued for `dbbackup worker`, needs DBBACKUP_STATE_URL)",
  DBBACKUP_WORKER_ATTEMPTS: "how many workers may try a job whose worker died, 1 to 5",
  DBBACKUP_STATE_URL:
    "e.g. DBBACKUP_STATE_URL=postgresql://dbbackup@state-db:5432/dbbackup, or unset for files in the backups folder",
};

function milliseconds(value: string): number {
  const n = Number.parseInt(value, 10);
  if (value.endsWith("ms")) return n;
  if (value.endsWith("min") || value.endsWith("m")) return n * 60_000;
  return n * 1000;
}

function seconds(value: string): number {
  const n = Number.parseInt(value, 10);
  if (value.endsWith("ms")) return Math.max(1, Math.ceil(n / 1000));
  if (value.endsWith("min")) return n * 60;
  return n;
}

export interface LoadConfigOptions {
  cwd?: string;
  /** The process environment; `.env` in cwd fills what it leaves unset. */
  env?: NodeJS.ProcessEnv;
  /** Read no `.env` (the defaults, for the verbs that need no settings). */
  noEnvFile?: boolean;
}

/** Each setting's first problem, once: every loader names all its bad settings at once this way. */
export function settingProblems(error: z.ZodError): { key: string; message: string }[] {
  const named = new Map<string, string>();
  for (const issue of error.issues) {
    const key = String(issue.path[0]);
    if (!named.has(key)) named.set(key, issue.message);
  }
  return [...named].map(([key, message]) => ({ key, message }));
}

/**
 * An empty value means "not set", for every setting: a copied example `.env` with `SLACK_APP_TOKEN=`
 * must not be read as a (bad) token. Pure.
 */
export function withoutEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && value.trim() !== "") kept[key] = value;
  return kept;
}

/** The settings as every loader sees them: `.env` in cwd, overridden by the environment; empty = unset. */
export function readSettings(options: LoadConfigOptions = {}): Record<string, string | undefined> {
  const envFile = path.join(options.cwd ?? process.cwd(), ".env");
  const fromFile = !options.noEnvFile && existsSync(envFile) ? dotenv.parse(readFileSync(envFile)) : {};
  // An empty variable in the environment doesn't hide a value in .env either.
  return { ...withoutEmpty(fromFile), ...withoutEmpty(options.env ?? process.env) };
}

/** Reads `.env` (without touching process.env) and the environment; every problem named at once. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const envFile = path.join(cwd, ".env");
  const merged = readSettings(options);

  const problems: string[] = [];
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    for (const { key, message } of settingProblems(parsed.error))
      problems.push(
        `${NOT_ECHOED.has(key) ? key : `${key}=${JSON.stringify(merged[key])}`}: ${message} (${FIXES[key] ?? "fix or unset it"})`,
      );
  }

  const environments = new Map<string, EnvironmentConfig>();
  for (const [key, value] of Object.entries(merged)) {
    const match = /^DATABASE_URL_([A-Z][A-Z0-9_]*)$/.exec(key);
    if (!match?.[1] || value === undefined || value.trim() === "") continue;
    const name = match[1].toLowerCase().replace(/_/g, "-");
    if (name === "adhoc") {
      problems.push(`${key}: "adhoc" is where --url backups are filed; give this environment another name`);
      continue;
    }
    if (!ENV_NAME.test(name)) {
      problems.push(
        `${key}: the environment name must be at most 31 letters, digits and _, starting with a letter`,
      );
      continue;
    }
    environments.set(name, { name, url: value.trim(), source: `DATABASE_URL_${match[1]}` });
  }
  // The runbook's legacy variable only ever means staging; prod never falls back.
  const legacy = merged.DATABASE_URL?.trim();
  if (!environments.has("staging") && legacy) {
    environments.set("staging", { name: "staging", url: legacy, source: "DATABASE_URL" });
  }

  if (problems.length > 0 || !parsed.success) {
    throw new DbBackupError(
      "config_invalid",
      `Configuration has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
      `Fix them in ${envFile} or the environment, then run again.`,
    );
  }
  const data = parsed.data;
  return {
    backupsDir: path.resolve(cwd, data.DBBACKUP_DIR),
    environments,
    compress: data.DBBACKUP_COMPRESS,
    lockWaitTimeoutSeconds: seconds(data.DBBACKUP_LOCK_WAIT_TIMEOUT),
    pgBinDir: data.PG_BIN_DIR,
    exactCountMaxRows: data.DBBACKUP_EXACT_COUNT_MAX_ROWS,
    requestedBy: merged.DBBACKUP_REQUESTED_BY ?? merged.USER ?? merged.LOGNAME ?? os.userInfo().username,
    retention: { keepOnDemand: data.DBBACKUP_KEEP_ON_DEMAND, keepPreUpgrade: data.DBBACKUP_KEEP_PRE_UPGRADE },
    leaseMs: data.DBBACKUP_LEASE,
    ...(data.DBBACKUP_STATE_URL ? { stateUrl: data.DBBACKUP_STATE_URL } : {}),
    runOn: data.DBBACKUP_RUN_ON,
    workerAttempts: data.DBBACKUP_WORKER_ATTEMPTS,
    rowDropPercent: data.DBBACKUP_ROW_DROP_ALERT,
    ...withOffsite(offsiteSettings(data, merged)),
  };
}

/** Settings whose value is never repeated in an error: a private key pasted by mistake must not reach a log. */
const NOT_ECHOED = new Set(["DBBACKUP_AGE_RECIPIENTS", "DBBACKUP_STATE_URL"]);

const withOffsite = (offsite: OffsiteSettings | undefined) => (offsite ? { offsite } : {});

/** Every setting at its default: what the verbs that need no settings (demo, help) run with. */
export function defaultConfig(): Config {
  return loadConfig({ env: {}, noEnvFile: true });
}
