import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnyVerb, OptionSpec } from "./verb.js";

/**
 * Every verb is a file of its own in commands/, found here by reading the folder: adding a verb is
 * adding its file. Each exports `verb`, named as its file.
 */
export interface Registry {
  /** In help's order. */
  verbs: AnyVerb[];
  named(name: string): AnyVerb | undefined;
  /** A verb the program itself relies on (help, version). */
  required(name: string): AnyVerb;
  /** The verb of words that name none (`dbbackup prod pre-upgrade` backs up). */
  defaultVerb: AnyVerb;
  /** An option any verb declares. */
  option(name: string): OptionSpec | undefined;
  /** How an option is used, from the first verb that takes it. */
  exampleOf(option: string): string;
}

const here = fileURLToPath(import.meta.url);
const COMMANDS_DIR = path.resolve(path.dirname(here), "..");
/** .ts under tests and tsx, .js once built. */
const EXT = path.extname(here);

function isVerb(value: unknown, name: string): value is AnyVerb {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { name?: unknown }).name === name &&
    typeof (value as { run?: unknown }).run === "function" &&
    typeof (value as { fromWords?: unknown }).fromWords === "function"
  );
}

export function buildRegistry(verbs: AnyVerb[]): Registry {
  const sorted = [...verbs].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  const byName = new Map(sorted.map((v) => [v.name, v]));
  const defaults = sorted.filter((v) => v.isDefault);
  const fallback = defaults[0];
  if (defaults.length !== 1 || !fallback)
    throw new Error(`exactly one verb must be the default, found ${defaults.length}`);
  return {
    verbs: sorted,
    named: (name) => byName.get(name),
    required(name) {
      const v = byName.get(name);
      if (!v) throw new Error(`the ${name} verb is missing from commands/`);
      return v;
    },
    defaultVerb: fallback,
    option: (name) => sorted.find((v) => v.options?.[name])?.options?.[name],
    exampleOf(option) {
      const owner = sorted.find((v) => v.options?.[option]);
      return owner?.usage.terminal ?? `dbbackup … --${option}`;
    },
  };
}

/** commands/<name>, imported and checked; undefined when there is no such file. */
export async function importVerb(name: string): Promise<AnyVerb | undefined> {
  const file = `${name}${EXT}`;
  const full = path.join(COMMANDS_DIR, file);
  if (!existsSync(full)) return undefined;
  const module = (await import(pathToFileURL(full).href)) as { verb?: unknown };
  if (!isVerb(module.verb, name))
    throw new Error(`commands/${file} must export a verb named "${name}" (see commands/kit/verb.ts)`);
  return module.verb;
}

let loaded: Promise<Registry> | undefined;

/** The verbs in commands/, loaded once. Each is light: its engine loads when it runs. */
export function loadVerbs(): Promise<Registry> {
  loaded ??= (async () => {
    const names = readdirSync(COMMANDS_DIR)
      .filter((f) => f.endsWith(EXT) && !f.endsWith(`.d${EXT}`))
      .sort()
      .map((f) => path.basename(f, EXT));
    const verbs = await Promise.all(names.map(async (name) => (await importVerb(name)) as AnyVerb));
    return buildRegistry(verbs);
  })();
  return loaded;
}
