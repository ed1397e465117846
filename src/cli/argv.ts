import type { Registry } from "../../commands/kit/registry.js";
import { envNames, readWords } from "../../commands/kit/words.js";

export interface ParsedCli {
  /** The verb's name and its arguments as typed (checked by its schema when it runs). */
  command: { verb: string; args?: unknown };
  json: boolean;
}

/**
 * argv (after `node dbbackup`) → a verb and its arguments. Pure: the configured environment names
 * come in, so `dbbackup pre-upgrade` (label, staging) and `dbbackup prod pre-upgrade` both mean
 * what the runbook meant.
 */
export function parseArgv(
  argv: readonly string[],
  configuredEnvs: Iterable<string>,
  registry: Registry,
): ParsedCli {
  const typed = readWords(argv, registry, envNames(configuredEnvs));
  const args = typed.verb.fromWords(typed.words);
  return {
    command: args === undefined ? { verb: typed.verb.name } : { verb: typed.verb.name, args },
    json: typed.json,
  };
}
