import type { Registry } from "../../commands/kit/registry.js";
import type { AnyVerb } from "../../commands/kit/verb.js";
import { envNames, readWords, usageFromZod } from "../../commands/kit/words.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";

/** Slack sends the text after the command; it is split like a shell would, without a shell. */
export function slashWords(text: string): string[] {
  if (text.length > 500)
    throw new DbBackupError(
      "usage",
      "That command is too long (over 500 characters).",
      "Try /dbbackup help.",
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text.replace(/[\n\t]/g, " "))) {
    throw new DbBackupError(
      "usage",
      "That command has control characters in it.",
      "Type it again without them.",
    );
  }
  return text.trim().split(/\s+/).filter(Boolean);
}

/** What was typed after /dbbackup → a verb Slack offers, and its checked arguments. */
export function slashRequest(
  text: string,
  registry: Registry,
  config: Config,
  approvalEnvs: readonly string[],
): { verb: AnyVerb; args: unknown } {
  const typed = readWords(slashWords(text), registry, envNames(config.environments.keys()));
  const { verb } = typed;
  if (!verb.slack)
    throw new DbBackupError(
      "usage",
      `/dbbackup ${verb.name} isn't available from Slack.`,
      `Run it on the bot's host: npx dbbackup ${verb.name} …`,
    );
  const words = { ...typed.words, approvalEnvs };
  const parsed = verb.args.safeParse((verb.slack.fromWords ?? verb.fromWords)(words));
  if (!parsed.success) throw usageFromZod(parsed.error);
  const args: unknown = parsed.data;
  verb.slack.check?.(args);
  return { verb, args };
}
