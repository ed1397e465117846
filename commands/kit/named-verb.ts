import { importVerb, type Registry } from "./registry.js";
import type { AnyVerb } from "./verb.js";

/**
 * The one verb the words name, loaded alone (the terminal runs one verb; loading all of them and
 * their views costs ~0.1 s a start). Only when the words read exactly as they would among every
 * verb: they name it first, and each option is one it takes, given its value. An option several
 * verbs declare has one spec (tested), so reading it by this verb's spec is reading it by any.
 * Anything else (help, the default verb, an option of another verb, a missing value) is undefined:
 * load every verb, so the answer and its errors are the usual ones.
 */
export async function loadNamedVerb(argv: readonly string[]): Promise<Registry | undefined> {
  const name = argv.find((arg) => !arg.startsWith("-"));
  if (name === undefined || !/^[a-z][a-z-]*$/.test(name)) return undefined;
  const verb = await importVerb(name);
  if (!verb || firstWord(argv, verb) !== name) return undefined;
  return onlyVerb(verb);
}

/**
 * The first word that is neither an option of `verb` nor an option's value; undefined when any
 * word is something else (another verb's option, a short flag, a missing value).
 */
function firstWord(argv: readonly string[], verb: AnyVerb): string | undefined {
  let first: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--json") continue;
    if (!arg.startsWith("-")) {
      first ??= arg;
      continue;
    }
    if (!arg.startsWith("--")) return undefined;
    const eq = arg.indexOf("=");
    const spec = verb.options?.[arg.slice(2, eq === -1 ? undefined : eq)];
    if (!spec) return undefined;
    if (spec.value === undefined) {
      if (eq !== -1) return undefined;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value.trim() === "") return undefined;
  }
  return first;
}

/** A registry of that verb alone (its words name it, so it is never the default). */
function onlyVerb(verb: AnyVerb): Registry {
  return {
    verbs: [verb],
    named: (name) => (name === verb.name ? verb : undefined),
    required(name) {
      if (name !== verb.name) throw new Error(`only the ${verb.name} verb is loaded, not ${name}`);
      return verb;
    },
    defaultVerb: verb,
    option: (name) => verb.options?.[name],
    exampleOf: () => verb.usage.terminal ?? verb.name,
  };
}
