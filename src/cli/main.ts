import { ZodError } from "zod/v3";
import { runAudited } from "../../commands/kit/audited-run.js";
import type { CommandContext } from "../../commands/kit/context.js";
import { loadNamedVerb } from "../../commands/kit/named-verb.js";
import { loadVerbs } from "../../commands/kit/registry.js";
import { usageFromZod } from "../../commands/kit/words.js";
import { COLOR, PLAIN, renderError, type Style } from "../../commands/views/terminal/render.js";
import { renderNotice } from "../../commands/views/terminal/render-guardrails.js";
import { renderRestoreEvent } from "../../commands/views/terminal/render-restore.js";
import { type Config, defaultConfig, loadConfig } from "../config.js";
import { DbBackupError, EXIT, exitCodeOf, isDbBackupError } from "../errors.js";
import { redactText } from "../redact.js";
import { type ParsedCli, parseArgv } from "./argv.js";
import { ProgressReporter } from "./progress.js";

function errorJson(error: DbBackupError & { logFile?: string }): string {
  return `${JSON.stringify({ ok: false, error: { code: error.code, message: error.message, hint: error.hint, ...(error.logFile ? { log: error.logFile } : {}) } }, null, 2)}\n`;
}

/** Anything thrown, as a person reads it: ours as it is, a bad argument as usage, else a crash. */
function asDbBackupError(error: unknown): DbBackupError {
  if (isDbBackupError(error)) return error;
  if (error instanceof ZodError) return usageFromZod(error);
  const message = redactText(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return new DbBackupError(
    "internal_error",
    `dbbackup crashed: ${message}`,
    "This is a bug; please report it with the output above.",
  );
}

/** A config that can't be read is kept, not thrown: verbs that need none still run. */
function tryLoadConfig(): { config?: Config; configError?: DbBackupError } {
  try {
    return { config: loadConfig() };
  } catch (error) {
    if (!isDbBackupError(error)) throw error;
    return { configError: error };
  }
}

/** SIGINT/SIGTERM once cancels the run so it cleans up after itself; twice quits at once. Returns the undo. */
function cancelOnSignals(abort: AbortController, stderr: NodeJS.WriteStream): () => void {
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    stderr.write("\nCancelling: stopping what runs and cleaning up after it (Ctrl-C again to quit now)…\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

/** What a verb sees when run from the terminal: progress, notes and restore events go to stderr. */
function terminalContext(
  config: Config | undefined,
  signal: AbortSignal,
  progress: ProgressReporter,
  json: boolean,
  style: Style,
): CommandContext {
  const { stdout, stderr } = process;
  const usable = config ?? defaultConfig();
  return {
    config: usable,
    requestedBy: usable.requestedBy,
    via: "terminal",
    signal,
    onEvent: progress.handle,
    onRestoreEvent: (event) => {
      const line = renderRestoreEvent(event);
      if (line) stderr.write(`${line}\n`);
    },
    onNote: (line) => stderr.write(`${line}\n`),
    json,
    ...(json ? {} : { onNotice: (notice) => stdout.write(`${renderNotice(notice, style)}\n`) }),
  };
}

/** A run killed earlier (here, or in a container that is gone) may have left things behind. */
async function cleanUpAfterDeadRuns(config: Config, stderr: NodeJS.WriteStream): Promise<void> {
  const { recoverAfterDeadInstances, describeRecovery } = await import("../../commands/kit/recovery.js");
  for (const line of describeRecovery(await recoverAfterDeadInstances(config)))
    stderr.write(`Cleaned up: ${line}\n`);
}

/** The terminal: words → a verb from the registry → its result, printed; the exit code says how it went. */
export async function main(argv: string[]): Promise<number> {
  const { stdout, stderr } = process;
  const style = stdout.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
  const errStyle = stderr.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
  let json = argv.includes("--json");
  const fail = (error: DbBackupError): number => {
    if (json) stdout.write(errorJson(error));
    else stderr.write(renderError(error, errStyle));
    return exitCodeOf(error.code);
  };

  const { config, configError } = tryLoadConfig();
  const registry = (await loadNamedVerb(argv)) ?? (await loadVerbs());
  let parsed: ParsedCli;
  try {
    parsed = parseArgv(argv, config?.environments.keys() ?? [], registry);
  } catch (error) {
    if (isDbBackupError(error)) return fail(error);
    throw error;
  }
  json = parsed.json;
  const verb = registry.required(parsed.command.verb);
  if (!config && !verb.needsNoConfig)
    return fail(
      configError ?? new DbBackupError("config_invalid", "Configuration could not be read.", "Check .env."),
    );

  const abort = new AbortController();
  const stopCancelling = cancelOnSignals(abort, stderr);
  const progress = new ProgressReporter(stderr, stderr.isTTY === true, stderr.columns ?? 100);
  const ctx = terminalContext(config, abort.signal, progress, json, style);
  try {
    if (verb.writes && config) await cleanUpAfterDeadRuns(config, stderr);
    const result = await runAudited(verb, ctx, verb.args.parse(parsed.command.args));
    progress.finish();
    stdout.write(
      json ? `${JSON.stringify(result, null, 2)}\n` : verb.terminal.render(result, style, new Date()),
    );
    await verb.terminal.afterOutput?.(result, abort.signal);
    return verb.terminal.exitCode?.(result) ?? EXIT.ok;
  } catch (error) {
    progress.finish();
    return fail(asDbBackupError(error));
  } finally {
    stopCancelling();
  }
}
