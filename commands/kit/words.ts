import type { ZodError } from "zod/v3";
import { DbBackupError } from "../../src/errors.js";
import { quoted } from "../../src/format.js";
import type { Registry } from "./registry.js";
import type { AnyVerb, Words } from "./verb.js";

/** Always read as environments, configured or not, so `prod x` with no URL gets the URL advice. */
export const BUILTIN_ENVS = ["staging", "prod"] as const;

export function usage(
  message: string,
  hint = "Run `dbbackup help` for the commands and their arguments.",
): DbBackupError {
  return new DbBackupError("usage", message, hint);
}

/** A word as quoted back in an error (one argument: safe to pass to `map`). */
export const shown = (value: string): string => quoted(value);

export function unknownEnv(name: string, envs: ReadonlySet<string>): DbBackupError {
  const upper = name.toUpperCase().replace(/-/g, "_");
  const safe = /^[a-z][a-z0-9-]{0,30}$/.test(name);
  return usage(
    `Unknown environment ${shown(name)}; known: ${[...envs].sort().join(", ")}.`,
    safe
      ? `To add it, set DATABASE_URL_${upper} in .env. For a one-off URL use --url.`
      : "Environment names are lower-case letters, digits and -.",
  );
}

/** An env word that must name a known environment. */
export function knownEnv(name: string, envs: ReadonlySet<string>): string {
  if (!envs.has(name)) throw unknownEnv(name, envs);
  return name;
}

/** What was typed: the verb it names, its words, and the requests every verb shares. */
export interface Typed {
  verb: AnyVerb;
  words: Words;
  json: boolean;
}

const HELP_FLAGS = new Set(["-h", "--help"]);
const VERSION_FLAGS = new Set(["-V", "--version"]);

/**
 * Words (argv after `dbbackup`, or what followed /dbbackup) → the verb and its words. Options may
 * stand anywhere; each belongs to the verbs that declare it, and one given to another verb is
 * refused with where it goes. Pure.
 */
export function readWords(argv: readonly string[], registry: Registry, envs: ReadonlySet<string>): Typed {
  let json = false;
  let help = false;
  let version = false;
  const options: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "--json") json = true;
    else if (HELP_FLAGS.has(arg)) help = true;
    else if (VERSION_FLAGS.has(arg)) version = true;
    else if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = registry.option(name);
      if (!spec) throw usage(`Unknown option ${shown(arg)}.`);
      if (name in options) throw usage(`--${name} was given twice.`);
      if (spec.value === undefined) {
        if (eq !== -1) throw usage(`--${name} takes no value.`);
        options[name] = true;
        continue;
      }
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value.trim() === "")
        throw usage(`--${name} needs a value: ${registry.exampleOf(name)}`);
      options[name] = value;
    } else if (arg.startsWith("-") && arg.length > 1) {
      throw usage(`Unknown option ${shown(arg)}.`);
    } else positionals.push(arg);
  }
  const [first, ...rest] = positionals;
  const named = first === undefined ? undefined : registry.named(first);
  const verb = version ? registry.required("version") : help ? registry.required("help") : named;
  const chosen = verb ?? registry.defaultVerb;
  if (!help && !version) {
    for (const name of Object.keys(options)) {
      if (chosen.options?.[name]) continue;
      const owners = registry.verbs.filter((v) => v.options?.[name]);
      throw usage(
        `${chosen.name} takes no --${name}: --${name} goes with ${owners.map((v) => v.name).join(", ")}: ${owners
          .map((v) => v.usage.terminal ?? v.name)
          .join("; ")}`,
      );
    }
  }
  return { verb: chosen, words: { positionals: named ? rest : positionals, options, envs }, json };
}

/** `--name` as given to this verb: its value, or undefined. */
export function optionValue(words: Words, name: string): string | undefined {
  const value = words.options[name];
  return typeof value === "string" ? value : undefined;
}

/** Every env word a request may use: the built-in ones and the configured ones. */
export function envNames(configured: Iterable<string>): ReadonlySet<string> {
  return new Set<string>([...BUILTIN_ENVS, ...configured]);
}

/** Arguments a verb's schema refused, as the person who typed them reads it. */
export function usageFromZod(error: ZodError): DbBackupError {
  const issue = error.issues[0];
  return usage(`Invalid ${issue?.path.join(".") || "argument"}: ${issue?.message ?? "rejected"}.`);
}
