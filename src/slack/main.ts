import { loadSlackSettings } from "../../commands/kit/slack-settings.js";
import { loadConfig, readSettings } from "../config.js";
import { isDbBackupError } from "../errors.js";
import { loadGuardrailSettings } from "../guardrails/settings.js";
import { createLogger } from "../log.js";
import { createBot } from "./app.js";

/** `npm start`: the bot. Exit 2 on bad settings (each named), 1 if Slack refuses to start it. */
export async function main(): Promise<number> {
  const logger = createLogger();
  const env = readSettings();
  let bot: ReturnType<typeof createBot>;
  let settings: ReturnType<typeof loadSlackSettings>;
  try {
    const config = loadConfig();
    settings = loadSlackSettings(env);
    const guardrails = loadGuardrailSettings(env, config.environments.keys());
    bot = createBot({ config, settings, logger, guardrails });
  } catch (error) {
    if (!isDbBackupError(error)) throw error;
    process.stderr.write(`✖ ${error.message}\n  → ${error.hint}\n`);
    return 2;
  }
  try {
    await bot.start();
  } catch (error) {
    if (!isDbBackupError(error)) throw error;
    process.stderr.write(`✖ ${error.message}\n  → ${error.hint}\n`);
    return 1;
  }
  logger.info(
    { mode: settings.appToken ? "socket" : `http :${settings.port}/slack/events`, channel: settings.channel },
    "dbbackup bot started",
  );
  return new Promise<number>((resolve) => {
    const shutdown = async (signal: string) => {
      logger.info(
        { signal, graceMs: settings.shutdownGraceMs },
        "shutting down: no new work; finishing running backups",
      );
      const result = await bot.shutdown(settings.shutdownGraceMs).catch((error: unknown) => {
        logger.error({ err: error }, "shutdown did not go cleanly");
        return undefined;
      });
      logger.info({ ...result }, "stopped");
      resolve(0);
    };
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
  });
}
