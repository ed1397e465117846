import type { BackupArgs } from "../../commands/backup.js";
import type { CheckArgs } from "../../commands/check.js";
import type { DiffArgs } from "../../commands/diff.js";
import type { JobsArgs } from "../../commands/jobs.js";
import type { KeepArgs, UnkeepArgs } from "../../commands/keep.js";
import type { ListArgs } from "../../commands/list.js";
import type { PruneArgs } from "../../commands/prune.js";
import type { RestoreTestArgs } from "../../commands/restore-test.js";
import type { UpgradeArgs } from "../../commands/upgrade.js";
import type { VerifyArgs } from "../../commands/verify.js";
import { ADHOC_ENV } from "../backup/target.js";
import { DbBackupError } from "../errors.js";
import { isJobName, JOB_NAMES } from "../guardrails/job-names.js";
import { parseUpgradeWords } from "../guardrails/window-time.js";

export type CliCommand =
  | { verb: "backup"; args: BackupArgs }
  | { verb: "list"; args: ListArgs }
  | { verb: "verify"; args: VerifyArgs }
  | { verb: "prune"; args: PruneArgs }
  | { verb: "keep"; args: KeepArgs }
  | { verb: "unkeep"; args: UnkeepArgs }
  | { verb: "restore-test"; args: RestoreTestArgs }
  | { verb: "demo" }
  | { verb: "check"; args: CheckArgs }
  | { verb: "diff"; args: DiffArgs }
  | { verb: "upgrade"; args: UpgradeArgs }
  | { verb: "jobs"; args: JobsArgs | null }
  | { verb: "help" }
  | { verb: "version" };

export interface ParsedCli {
  command: CliCommand;
  json: boolean;
}

export const VERBS = [
  "check",
  "diff",
  "upgrade",
  "jobs",
  "backup",
  "list",
  "verify",
  "prune",
  "keep",
  "unkeep",
  "restore-test",
  "demo",
  "help",
] as const;
/** Always read as environments, configured or not, so `prod x` with no URL gets the URL advice. */
export const BUILTIN_ENVS = ["staging", "prod"] as const;

function usage(
  message: string,
  hint = "Run `dbbackup help` for the commands and their arguments.",
): DbBackupError {
  return new DbBackupError("usage", message, hint);
}

function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/**
 * argv (after `node dbbackup`) → a command. Pure: the configured environment names come in, so
 * `dbbackup pre-upgrade` (label, staging) and `dbbackup prod pre-upgrade` both mean what the runbook meant.
 */
export function parseArgv(argv: readonly string[], configuredEnvs: Iterable<string>): ParsedCli {
  const envs = new Set<string>([...BUILTIN_ENVS, ...configuredEnvs]);
  let json = false;
  let restoreHint = true;
  let url: string | undefined;
  let help = false;
  let version = false;
  let dryRun = false;
  let reason: string | undefined;
  let envOption: string | undefined;
  let keepServer = false;
  let requireLabel: string | undefined;
  let maxAgeMs: number | undefined;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "--json") json = true;
    else if (arg === "--no-restore-hint") restoreHint = false;
    else if (arg === "-h" || arg === "--help") help = true;
    else if (arg === "--version" || arg === "-V") version = true;
    else if (arg === "--dry-run") dryRun = true;
    else if (arg === "--require" || arg.startsWith("--require=")) {
      const value = arg === "--require" ? argv[++i] : arg.slice("--require=".length);
      if (!value) throw usage("--require needs a label: dbbackup check prod --require pre-upgrade");
      requireLabel = value;
    } else if (arg === "--max-age" || arg.startsWith("--max-age=")) {
      const value = arg === "--max-age" ? argv[++i] : arg.slice("--max-age=".length);
      const m = /^(\d+)(m|h|d)$/.exec(value ?? "");
      if (!m?.[1]) throw usage(`--max-age takes a duration like 90m, 24h or 7d, not ${shown(value ?? "")}.`);
      maxAgeMs =
        Number(m[1]) * ({ m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[m[2] as "m" | "h" | "d"];
    } else if (arg === "--keep-server") keepServer = true;
    else if (arg === "--env" || arg.startsWith("--env=")) {
      const value = arg === "--env" ? argv[++i] : arg.slice("--env=".length);
      if (value === undefined || value === "") throw usage("--env needs a value: --env staging");
      envOption = value;
    } else if (arg === "--reason" || arg.startsWith("--reason=")) {
      const value = arg === "--reason" ? argv[++i] : arg.slice("--reason=".length);
      if (value === undefined || value.trim() === "")
        throw usage('--reason needs a value: dbbackup keep <ID> --reason "before tenant split"');
      if (reason !== undefined) throw usage("--reason was given twice.");
      reason = value;
    } else if (arg === "--url" || arg.startsWith("--url=")) {
      const value = arg === "--url" ? argv[++i] : arg.slice("--url=".length);
      if (value === undefined || value === "")
        throw usage("--url needs a value: --url 'postgresql://user:pass@host:5432/db?sslmode=require'");
      if (url !== undefined) throw usage("--url was given twice.");
      url = value;
    } else if (arg.startsWith("-") && arg.length > 1) {
      throw usage(`Unknown option ${shown(arg)}.`);
    } else positionals.push(arg);
  }
  if (version) return { command: { verb: "version" }, json };
  const [first, ...rest] = positionals;
  if (help || first === "help") return { command: { verb: "help" }, json };
  if ((envOption !== undefined || keepServer) && first !== "restore-test") {
    throw usage(
      `${envOption !== undefined ? "--env" : "--keep-server"} goes with restore-test: dbbackup restore-test latest --env staging`,
    );
  }
  if ((requireLabel !== undefined || maxAgeMs !== undefined) && first !== "check") {
    throw usage(
      "--require and --max-age go with check: dbbackup check prod --require pre-upgrade --max-age 24h",
    );
  }
  if (first === "diff") {
    const [from, to, ...extra] = rest;
    if (!from || extra.length > 0)
      throw usage("diff takes a backup and another backup or live: dbbackup diff <ID> [<ID>|live]");
    return { command: { verb: "diff", args: to === undefined ? { from } : { from, to } }, json };
  }
  if (first === "upgrade") return { command: { verb: "upgrade", args: parseUpgradeWords(rest, envs) }, json };
  if (first === "jobs") {
    const [action, name, ...extra] = rest;
    if (action === "list" && name === undefined) return { command: { verb: "jobs", args: null }, json };
    if (action !== "run" || !name || extra.length > 0 || !isJobName(name))
      throw usage(
        `jobs takes list, or run and a job name${name && !isJobName(name) ? ` (${shown(name)} is not one)` : ""}: ${JOB_NAMES.join(", ")}.`,
        "Example: dbbackup jobs run windows",
      );
    return { command: { verb: "jobs", args: { name } }, json };
  }
  if (first === "check") {
    const [env, ...extra] = rest;
    if (!env || extra.length > 0)
      throw usage("check takes one environment: dbbackup check prod --require pre-upgrade --max-age 24h");
    if (!envs.has(env)) throw unknownEnv(env, envs);
    const args: CheckArgs = { env };
    if (requireLabel !== undefined) args.require = requireLabel;
    if (maxAgeMs !== undefined) args.maxAgeMs = maxAgeMs;
    return { command: { verb: "check", args }, json };
  }
  if (first === "demo") {
    if (rest.length > 0) throw usage(`demo takes no arguments, got ${rest.map(shown).join(" ")}.`);
    return { command: { verb: "demo" }, json };
  }
  if (first === "restore-test") {
    // `restore-test latest --env staging`, or Slack's `restore-test latest staging`.
    const [ref, envWord, ...extra] = rest;
    if (!ref || extra.length > 0 || (envWord !== undefined && envOption !== undefined)) {
      throw usage(
        "restore-test takes a backup: dbbackup restore-test latest --env staging, or an id or folder.",
      );
    }
    const env = envOption ?? envWord;
    if (env !== undefined && !envs.has(env)) throw unknownEnv(env, envs);
    const args: RestoreTestArgs = { ref, keepServer };
    if (env !== undefined) args.env = env;
    return { command: { verb: "restore-test", args }, json };
  }
  if (dryRun && first !== "prune") throw usage("--dry-run goes with prune: dbbackup prune [ENV] --dry-run");
  if (reason !== undefined && first !== "keep")
    throw usage('--reason goes with keep: dbbackup keep <ID> --reason "before tenant split"');

  if (first === "list") {
    if (rest.length > 1)
      throw usage(`list takes at most one environment, got ${rest.length}: ${rest.map(shown).join(" ")}.`);
    const env = rest[0];
    if (env !== undefined && !envs.has(env)) throw unknownEnv(env, envs);
    return { command: { verb: "list", args: env === undefined ? {} : { env } }, json };
  }
  if ((first === "prune" || first === "keep" || first === "unkeep") && url !== undefined)
    throw usage(`${first} takes no --url: it works on the backups folder (--url backups are under "adhoc").`);
  if (first === "prune") {
    if (rest.length > 1)
      throw usage(`prune takes at most one environment, got ${rest.length}: ${rest.map(shown).join(" ")}.`);
    const env = rest[0];
    if (env !== undefined && env !== ADHOC_ENV && !envs.has(env)) throw unknownEnv(env, envs);
    return { command: { verb: "prune", args: env === undefined ? { dryRun } : { env, dryRun } }, json };
  }
  if (first === "keep" || first === "unkeep") {
    if (rest.length !== 1 || !rest[0])
      throw usage(
        `${first} takes one backup id: dbbackup ${first} 20261123_203000_staging_pre-upgrade${first === "keep" ? ' --reason "before tenant split"' : ""}`,
      );
    const id = rest[0];
    if (first === "unkeep") return { command: { verb: "unkeep", args: { id } }, json };
    return { command: { verb: "keep", args: reason === undefined ? { id } : { id, reason } }, json };
  }
  if (first === "verify") {
    if (rest.length !== 1 || !rest[0])
      throw usage(
        "verify takes one backup id or folder: dbbackup verify 20261123_203000_staging_pre-upgrade",
      );
    return { command: { verb: "verify", args: { ref: rest[0] } }, json };
  }
  const words = first === "backup" ? rest : positionals;
  if (words.length > 2) {
    throw usage(
      `Too many words: ${words.map(shown).join(" ")}. A backup takes [ENV] [LABEL].`,
      "Example: dbbackup prod pre-upgrade",
    );
  }
  let env: string | undefined;
  let label: string | undefined;
  if (words.length === 2) {
    if (!envs.has(words[0] ?? "")) throw unknownEnv(words[0] ?? "", envs);
    [env, label] = words;
  } else if (words.length === 1) {
    if (envs.has(words[0] ?? "")) env = words[0];
    else label = words[0];
  }
  const args: BackupArgs = { restoreHint };
  if (env !== undefined) args.env = env;
  if (label !== undefined) args.label = label;
  if (url !== undefined) args.url = url;
  return { command: { verb: "backup", args }, json };
}

function unknownEnv(name: string, envs: Set<string>): DbBackupError {
  const upper = name.toUpperCase().replace(/-/g, "_");
  const safe = /^[a-z][a-z0-9-]{0,30}$/.test(name);
  return usage(
    `Unknown environment ${shown(name)}; known: ${[...envs].sort().join(", ")}.`,
    safe
      ? `To add it, set DATABASE_URL_${upper} in .env. For a one-off URL use --url.`
      : "Environment names are lower-case letters, digits and -.",
  );
}
