import { z } from "zod/v3";
import { isBackupId } from "../src/backup/ids.js";
import { envNameSchema } from "../src/config.js";
import type { ParityRow } from "../src/restore/parity.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb, type Words } from "./kit/verb.js";
import { knownEnv, optionValue, usage } from "./kit/words.js";
import {
  restoreTestFailedView,
  restoreTestStartedView,
  restoreTestView,
} from "./views/slack/restore-views.js";
import { renderRestoreTest } from "./views/terminal/render-restore.js";

export const restoreTestArgs = z.object({
  /** A backup id, a backup folder, or "latest". */
  ref: z.string().min(1),
  env: envNameSchema.optional(),
  keepServer: z.boolean().default(false),
});
export type RestoreTestArgs = z.input<typeof restoreTestArgs>;

export interface RestoreTestResult {
  ok: boolean;
  id: string;
  dir: string;
  env: string;
  serverMajor: number;
  durationMs: number;
  summary: string;
  parity: ParityRow[];
  /** False for a folder outside the backups folder (a copy): tested, but not recorded for the id. */
  recorded: boolean;
  /** With --keep-server: where the restored copy can be inspected until the command is stopped. */
  serverUrl?: string;
  /** With --keep-server: stops the scratch server (not part of the JSON). */
  stopServer?: () => Promise<void>;
}

async function run(ctx: CommandContext, input: RestoreTestArgs): Promise<RestoreTestResult> {
  const args = restoreTestArgs.parse(input);
  const { runRestoreTest, summarize } = await import("../src/restore/restore-test.js");
  const outcome = await runRestoreTest({
    config: ctx.config,
    ref: args.ref,
    env: args.env,
    requestedBy: ctx.requestedBy,
    cwd: ctx.cwd ?? process.cwd(),
    keepServer: args.keepServer,
    signal: ctx.signal,
    ...(ctx.onRestoreEvent ? { onEvent: ctx.onRestoreEvent } : {}),
  });
  const server = outcome.server;
  return {
    ok: outcome.ok,
    id: outcome.id,
    dir: outcome.dir,
    env: outcome.env,
    serverMajor: outcome.serverMajor,
    durationMs: outcome.ms,
    summary: summarize(outcome.parity),
    parity: outcome.parity,
    recorded: outcome.recorded,
    ...(server ? { serverUrl: server.url("restore_test"), stopServer: () => server.stop() } : {}),
  };
}

/** `restore-test latest --env staging`, or Slack's `restore-test latest staging`. */
function restoreTestWords(words: Words): RestoreTestArgs {
  const [ref, envWord, ...extra] = words.positionals;
  const envOption = optionValue(words, "env");
  if (!ref || extra.length > 0 || (envWord !== undefined && envOption !== undefined))
    throw usage(
      "restore-test takes a backup: dbbackup restore-test latest --env staging, or an id or folder.",
    );
  const env = envOption ?? envWord;
  const args: RestoreTestArgs = { ref, keepServer: words.options["keep-server"] === true };
  if (env !== undefined) args.env = knownEnv(env, words.envs);
  return args;
}

const what = (args: RestoreTestArgs) => `${args.ref}${args.env ? ` ${args.env}` : ""}`;

export const verb = defineVerb({
  name: "restore-test",
  order: 50,
  writes: true,
  summary: "Prove a backup restores (stage 3).",
  slackSummary: "prove a backup restores (stage 3), or give an id",
  usage: {
    terminal: "dbbackup restore-test <ID|PATH|latest> [--env ENV] [--keep-server] [--json]",
    slack: "/dbbackup restore-test latest [env]",
    details: [
      "Stage 3: restore into a throwaway Postgres of the dump's major and compare tables, rows,",
      "views, extensions and policies with what was recorded; kept in the manifest and drill log.",
    ],
  },
  options: { env: { value: "ENV" }, "keep-server": {} },
  args: restoreTestArgs,
  fromWords: restoreTestWords,
  run,
  terminal: {
    render: (r, style) => renderRestoreTest(r, style),
    exitCode: (r) => (r.ok ? 0 : 1),
    async afterOutput(r, signal) {
      if (!r.stopServer) return;
      // --keep-server: the restored copy stays up for inspection until Ctrl-C.
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      await r.stopServer();
    },
  },
  slack: {
    mode: "job",
    check(args) {
      if (args.keepServer)
        throw usage(
          "/dbbackup restore-test --keep-server isn't available from Slack.",
          "Run it on the bot's host: npx dbbackup restore-test …",
        );
      // From Slack only ids and `latest`: a path would name a folder anywhere on the bot's host.
      if (args.ref !== "latest" && !isBackupId(args.ref))
        throw usage(
          `"${args.ref.slice(0, 60)}" is not a backup id.`,
          "Use an id from /dbbackup list, or latest: /dbbackup restore-test latest staging",
        );
    },
    render: (r, _now, by) => restoreTestView(r, by),
    job: {
      auditAs: "restore-test",
      title: (args) => `restore test of ${what(args)}`,
      env: (args) => args.env ?? "staging",
      label: () => null,
      started: (args, by) => restoreTestStartedView(what(args), by),
      failed: (args, by, problem, hint, code) => restoreTestFailedView(what(args), by, problem, hint, code),
      doneText: (r) => `The restore test of ${r.id} ${r.ok ? "passed" : "FAILED"}.`,
    },
  },
});
