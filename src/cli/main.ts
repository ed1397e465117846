import { ZodError } from "zod/v3";
import type { CommandContext } from "../../commands/context.js";
import { type Config, loadConfig } from "../config.js";
import { DbBackupError, EXIT, exitCodeOf, isDbBackupError } from "../errors.js";
import { redactText } from "../redact.js";
import type { RestoreEvent } from "../restore/restore-test.js";
import { TOOL_VERSION } from "../version.js";
import { type ParsedCli, parseArgv } from "./argv.js";
import { ProgressReporter } from "./progress.js";
import { COLOR, HELP, PLAIN, renderBackup, renderError, renderList, renderVerify } from "./render.js";
import { renderRestoreEvent, renderRestoreTest } from "./render-restore.js";

/** The verbs that change something: they first clean up after runs that died. */
const RECOVERING_VERBS = new Set(["backup", "restore-test", "verify", "prune", "keep", "unkeep", "jobs"]);

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
    return exitCodeOf(error.code);
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
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.cancelled);
    stderr.write("\nCancelling: stopping what runs and cleaning up after it (Ctrl-C again to quit now)…\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const progress = new ProgressReporter(stderr, stderr.isTTY === true, stderr.columns ?? 100);
  const restoreLine = (event: RestoreEvent) => {
    const line = renderRestoreEvent(event);
    if (line) stderr.write(`${line}\n`);
  };
  try {
    // The demo needs no configuration at all: it brings its own database.
    if (command.verb === "demo") {
      const { run } = await import("../../commands/demo.js");
      const result = await run(
        {
          signal: abort.signal,
          onEvent: progress.handle,
          onRestoreEvent: restoreLine,
          onNote: (line) => stderr.write(`${line}\n`),
        },
        {},
      );
      progress.finish();
      stdout.write(
        json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `${renderBackup(result.backup, style)}\n${renderRestoreTest(result.restore, style)}`,
      );
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    if (!config) {
      return fail(
        configError ?? new DbBackupError("config_invalid", "Configuration could not be read.", "Check .env."),
      );
    }
    const ctx: CommandContext = {
      config,
      requestedBy: config.requestedBy,
      signal: abort.signal,
      onEvent: progress.handle,
      via: "terminal",
    };
    if (RECOVERING_VERBS.has(command.verb)) {
      // A run killed earlier (here, or in a container that is gone) may have left things behind.
      const { recoverAfterDeadInstances, describeRecovery } = await import("../../commands/recovery.js");
      for (const line of describeRecovery(await recoverAfterDeadInstances(config)))
        stderr.write(`Cleaned up: ${line}\n`);
    }
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
      case "prune": {
        const [{ run }, { renderPrune }] = await Promise.all([
          import("../../commands/prune.js"),
          import("./render-retention.js"),
        ]);
        const result = await run(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderPrune(result, style));
        if (result.stopped) return EXIT.cancelled;
        return result.backups.some((b) => b.outcome === "failed") ? EXIT.failed : EXIT.ok;
      }
      case "keep": {
        const [{ runKeep }, { renderKeep }] = await Promise.all([
          import("../../commands/keep.js"),
          import("./render-retention.js"),
        ]);
        const result = await runKeep(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderKeep(result, style));
        return EXIT.ok;
      }
      case "diff": {
        const [{ run }, { renderDiff }] = await Promise.all([
          import("../../commands/diff.js"),
          import("./render-diff.js"),
        ]);
        const result = await run(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderDiff(result, style));
        return EXIT.ok;
      }
      case "check": {
        const { run } = await import("../../commands/check.js");
        const result = await run(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${result.reason}\n`);
        return result.ok ? EXIT.ok : EXIT.failed;
      }
      case "restore-test": {
        const { run } = await import("../../commands/restore-test.js");
        const { result, stopServer } = await run({ ...ctx, onRestoreEvent: restoreLine }, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderRestoreTest(result, style));
        if (result.serverUrl) {
          // --keep-server: the restored copy stays up for inspection until Ctrl-C.
          await new Promise<void>((resolve) =>
            abort.signal.addEventListener("abort", () => resolve(), { once: true }),
          );
          await stopServer();
        }
        return result.ok ? EXIT.ok : EXIT.failed;
      }
      case "upgrade": {
        const [{ run }, { renderUpgrade }, { loadGuardrailSettings }, { readSettings }] = await Promise.all([
          import("../../commands/upgrade.js"),
          import("./render-guardrails.js"),
          import("../guardrails/settings.js"),
          import("../config.js"),
        ]);
        const settings = loadGuardrailSettings(readSettings(), config.environments.keys());
        const result = await run(ctx, command.args, { defaultLengthMs: settings.windowLengthMs });
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderUpgrade(result, style));
        return EXIT.ok;
      }
      case "jobs": {
        const [{ run }, render, { loadGuardrailSettings }, { readSettings }, { loadSlackPostingSettings }] =
          await Promise.all([
            import("../../commands/jobs.js"),
            import("./render-guardrails.js"),
            import("../guardrails/settings.js"),
            import("../config.js"),
            import("../slack/settings.js"),
          ]);
        const env = readSettings();
        const settings = loadGuardrailSettings(env, config.environments.keys());
        if (command.args === null) {
          stdout.write(
            json
              ? `${JSON.stringify({ ok: true, ...settings, supabase: settings.supabase !== null }, null, 2)}\n`
              : render.renderJobList(settings, style),
          );
          return EXIT.ok;
        }
        const slack = loadSlackPostingSettings(env);
        const toSlack = slack ? (await import("../slack/notify.js")).slackNoticePoster(slack) : undefined;
        const report = await run(ctx, command.args, {
          settings,
          post: async (notice) => {
            // Printed first: whatever Slack says, the person at the terminal has seen it.
            if (!json) stdout.write(`${render.renderNotice(notice, style)}\n`);
            if (!toSlack || !slack) return;
            try {
              await toSlack(notice);
            } catch (error) {
              const code = (error as { data?: { error?: string } }).data?.error ?? String(error);
              throw new DbBackupError(
                "slack_post_failed",
                `Couldn't post to ${slack.channel} (${code}); ${json ? "the notice was" : "the notice above was"} not posted, and the job stopped there.`,
                "Invite the bot to the channel (/invite @dbbackup) or check SLACK_BOT_TOKEN; the next run posts what is still unsaid.",
              );
            }
          },
        });
        const where = slack
          ? `posted to ${slack.channel}`
          : "printed only: SLACK_BOT_TOKEN or DBBACKUP_CHANNEL is not set";
        stdout.write(
          json ? `${JSON.stringify(report, null, 2)}\n` : render.renderJobReport(report, style, where),
        );
        return report.problems.length > 0 ? EXIT.failed : EXIT.ok;
      }
      case "unkeep": {
        const [{ runUnkeep }, { renderUnkeep }] = await Promise.all([
          import("../../commands/keep.js"),
          import("./render-retention.js"),
        ]);
        const result = await runUnkeep(ctx, command.args);
        stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderUnkeep(result, style));
        return EXIT.ok;
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
