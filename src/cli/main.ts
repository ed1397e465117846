import { ZodError } from "zod/v3";
import type { CommandContext } from "../../commands/context.js";
import { redactText } from "../backup/redact.js";
import { type Config, loadConfig } from "../config.js";
import { DbBackupError, isDbBackupError } from "../errors.js";
import { TOOL_VERSION } from "../version.js";
import { type ParsedCli, parseArgv } from "./argv.js";
import { ProgressReporter } from "./progress.js";
import { COLOR, HELP, PLAIN, renderBackup, renderError, renderList, renderVerify } from "./render.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** Exit 2: the request or the configuration was wrong, and nothing was touched. */
const USAGE_CODES = new Set([
  "usage",
  "config_invalid",
  "bad_label",
  "url_invalid",
  "url_with_env",
  "not_found",
  "no_url",
  "port_6543",
  "compress_unsupported",
]);

function exitCodeFor(error: DbBackupError): number {
  if (error.code === "cancelled") return EXIT.cancelled;
  return USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failed;
}

function errorJson(error: DbBackupError & { logFile?: string }): string {
  return `${JSON.stringify({ ok: false, error: { code: error.code, message: error.message, hint: error.hint, ...(error.logFile ? { log: error.logFile } : {}) } }, null, 2)}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const stdout = process.stdout;
  const stderr = process.stderr;
  const style = stdout.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
  const errStyle = stderr.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
  let json = argv.includes("--json");
  const fail = (error: DbBackupError): number => {
    if (json) stdout.write(errorJson(error));
    else stderr.write(renderError(error, errStyle));
    return exitCodeFor(error);
  };

  let config: Config | undefined;
  let configError: DbBackupError | undefined;
  try {
    config = loadConfig();
  } catch (error) {
    if (!isDbBackupError(error)) throw error;
    configError = error;
  }
  let parsed: ParsedCli;
  try {
    parsed = parseArgv(argv, config?.environments.keys() ?? []);
  } catch (error) {
    if (isDbBackupError(error)) return fail(error);
    throw error;
  }
  json = parsed.json;
  const { command } = parsed;
  if (command.verb === "help") {
    stdout.write(json ? `${JSON.stringify({ ok: true, help: HELP })}\n` : HELP);
    return EXIT.ok;
  }
  if (command.verb === "version") {
    stdout.write(
      json ? `${JSON.stringify({ ok: true, version: TOOL_VERSION })}\n` : `dbbackup ${TOOL_VERSION}\n`,
    );
    return EXIT.ok;
  }
  if (!config)
    return fail(
      configError ?? new DbBackupError("config_invalid", "Configuration could not be read.", "Check .env."),
    );

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    stderr.write(
      "\nCancelling: stopping pg_dump and removing the unfinished folder (Ctrl-C again to quit now)…\n",
    );
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const progress = new ProgressReporter(stderr, stderr.isTTY === true, stderr.columns ?? 100);
  const ctx: CommandContext = {
    config,
    requestedBy: config.requestedBy,
    signal: abort.signal,
    onEvent: progress.handle,
  };
  try {
    switch (command.verb) {
      // Each verb loads only what it needs: `list` must not pay for pg and execa at start-up.
      case "backup": {
        const { run } = await import("../../commands/backup.js");
        const result = await run(ctx, command.args);
        progress.finish();
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderBackup(result, style));
        return EXIT.ok;
      }
      case "list": {
        const { run } = await import("../../commands/list.js");
        const result = await run(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderList(result, style, new Date()));
        return EXIT.ok;
      }
      case "verify": {
        const { run } = await import("../../commands/verify.js");
        const result = await run(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderVerify(result, style));
        return result.ok ? EXIT.ok : EXIT.failed;
      }
    }
  } catch (error) {
    progress.finish();
    if (isDbBackupError(error)) return fail(error);
    if (error instanceof ZodError) {
      const issue = error.issues[0];
      return fail(
        new DbBackupError(
          "usage",
          `Invalid ${issue?.path.join(".") || "argument"}: ${issue?.message ?? "rejected"}.`,
          "Run `dbbackup help` for the commands and their arguments.",
        ),
      );
    }
    const message = redactText(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return fail(
      new DbBackupError(
        "internal_error",
        `dbbackup crashed: ${message}`,
        "This is a bug; please report it with the output above.",
      ),
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
