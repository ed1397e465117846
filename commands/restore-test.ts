import { z } from "zod/v3";
import { isBackupId } from "../src/backup/ids.js";
import { envNameSchema } from "../src/config.js";
import type { ComparedKind, ParityRow } from "../src/restore/parity.js";
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
  /** `offsite`: test the bucket's copy (fetched, decrypted, into a hidden folder removed after). */
  from: z.enum(["local", "offsite"]).default("local"),
  identity: z.string().min(1).max(4096).optional(),
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
  /** Which kinds of object were compared, and why any were not. */
  compared: ComparedKind[];
  /** False for a folder outside the backups folder (a copy): tested, but not recorded for the id. */
  recorded: boolean;
  /** With --keep-server: where the restored copy can be inspected until the command is stopped. */
  serverUrl?: string;
  /** With --keep-server: stops the scratch server (not part of the JSON). */
  stopServer?: () => Promise<void>;
  /** With --from offsite: the bucket the tested copy came from. */
  offsite?: string;
}

async function run(ctx: CommandContext, input: RestoreTestArgs): Promise<RestoreTestResult> {
  const args = restoreTestArgs.parse(input);
  if (args.from === "offsite") return fromOffsite(ctx, args);
  return restoreTest(ctx, args, args.ref);
}

/** The off-site copy, fetched into a hidden folder of the backups folder (swept if we die), tested, removed. */
async function fromOffsite(
  ctx: CommandContext,
  args: z.output<typeof restoreTestArgs>,
): Promise<RestoreTestResult> {
  if (!isBackupId(args.ref))
    throw usage(
      `restore-test --from offsite takes a backup id, not ${JSON.stringify(args.ref.slice(0, 60))}.`,
      "`dbbackup list --offsite` shows the ids the bucket holds.",
    );
  const [{ pullOffsite }, { createInProgressDir }, { stateFor }, { rmSync }, { randomBytes }] =
    await Promise.all([
      import("../src/offsite/pull.js"),
      import("../src/backup/work-dirs.js"),
      import("../src/state/open.js"),
      import("node:fs"),
      import("node:crypto"),
    ]);
  const scratch = createInProgressDir(
    ctx.config.backupsDir,
    `offsite-test-${randomBytes(4).toString("hex")}`,
    stateFor(ctx.config),
  );
  try {
    const pulled = await pullOffsite(ctx.config, args.ref, {
      identityFile: args.identity,
      root: scratch,
      signal: ctx.signal,
    });
    const result = await restoreTest(ctx, { ...args, keepServer: false }, pulled.dir);
    return { ...result, offsite: ctx.config.offsite?.url ?? "" };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function restoreTest(
  ctx: CommandContext,
  args: z.output<typeof restoreTestArgs>,
  ref: string,
): Promise<RestoreTestResult> {
  const { runRestoreTest, summarize } = await import("../src/restore/restore-test.js");
  const outcome = await runRestoreTest({
    config: ctx.config,
    ref,
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
    compared: outcome.compared,
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
  const from = optionValue(words, "from");
  if (from !== undefined && from !== "offsite" && from !== "local")
    throw usage(
      `--from takes offsite (the bucket's copy) or local, not ${JSON.stringify(from.slice(0, 40))}.`,
    );
  if (from !== undefined) args.from = from;
  const identity = optionValue(words, "identity");
  if (identity !== undefined) args.identity = identity;
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
    terminal:
      "dbbackup restore-test <ID|PATH|latest> [--env ENV] [--keep-server] [--from offsite [--identity KEYFILE]] [--json]",
    slack: "/dbbackup restore-test latest [env]",
    details: [
      "Stage 3: restore into a throwaway Postgres of the dump's major and compare tables, rows,",
      "views, extensions and policies with what was recorded; kept in the manifest and drill log.",
    ],
  },
  options: {
    env: { value: "ENV" },
    "keep-server": {},
    from: { value: "offsite" },
    identity: { value: "KEYFILE" },
  },
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
      if (args.from === "offsite" || args.identity !== undefined)
        throw usage(
          "/dbbackup restore-test --from offsite isn't available from Slack: decrypting needs the private key, which stays off the bot's host.",
          "Run it where the key is: npx dbbackup restore-test <ID> --from offsite --identity key.txt",
        );
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
