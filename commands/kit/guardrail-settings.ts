import { readSettings } from "../../src/config.js";
import type { GuardrailSettings } from "../../src/guardrails/settings.js";
import type { CommandContext } from "./context.js";

/**
 * The guardrails' settings: the bot's own when it asks, else read from `.env` and the environment.
 * Loaded when asked for (checking cron expressions loads node-cron), not with every command.
 */
export async function guardrailSettings(
  ctx: CommandContext,
  settings: Record<string, string | undefined> = readSettings(),
): Promise<GuardrailSettings> {
  if (ctx.guardrails) return ctx.guardrails;
  const { loadGuardrailSettings } = await import("../../src/guardrails/settings.js");
  return loadGuardrailSettings(settings, ctx.config.environments.keys());
}
