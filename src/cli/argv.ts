import type { BackupArgs } from "../../commands/backup.js";
import type { ListArgs } from "../../commands/list.js";
import type { VerifyArgs } from "../../commands/verify.js";
import { DbBackupError } from "../errors.js";

export type CliCommand =
  | { verb: "backup"; args: BackupArgs }
  | { verb: "list"; args: ListArgs }
  | { verb: "verify"; args: VerifyArgs }
  | { verb: "help" }
  | { verb: "version" };

export interface ParsedCli {
  command: CliCommand;
  json: boolean;
}

export const VERBS = ["backup", "list", "verify", "help"] as const;
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
    else if (arg === "--url" || arg.startsWith("--url=")) {
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

  if (first === "list") {
    if (rest.length > 1)
      throw usage(`list takes at most one environment, got ${rest.length}: ${rest.map(shown).join(" ")}.`);
    const env = rest[0];
    if (env !== undefined && !envs.has(env)) throw unknownEnv(env, envs);
    return { command: { verb: "list", args: env === undefined ? {} : { env } }, json };
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
