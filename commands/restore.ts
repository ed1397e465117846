import { z } from "zod/v3";
import { isBackupId } from "../src/backup/ids.js";
import type { Target } from "../src/backup/target.js";
import { envNameSchema, readSettings } from "../src/config.js";
import { isDbBackupError } from "../src/errors.js";
import type { RestoreOutcome, RestoreRequest } from "../src/restore/guarded-restore.js";
import type { ComparedKind, ParityRow } from "../src/restore/parity.js";
import type { RestorePlan } from "../src/restore/restore-plan.js";
import type { CommandContext } from "./kit/context.js";
import { approvalEnvsOf } from "./kit/slack-settings.js";
import { defineVerb, type Words } from "./kit/verb.js";
import { knownEnv, optionValue, usage } from "./kit/words.js";
import { restoreDoneView, restoreFailedView, restoreStartedView } from "./views/slack/restore-run-views.js";
import { renderRestore } from "./views/terminal/render-restore-run.js";

const restoreArgs = z.object({
  ref: z.string().min(1).max(4096),
  toEnv: envNameSchema.optional(),
  toUrl: z.string().max(4096).optional(),
  inPlace: z.boolean().default(false),
  confirm: z.string().max(200).optional(),
  createRoles: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  jobs: z.number().int().min(1).max(64).optional(),
});
type RestoreArgs = z.input<typeof restoreArgs>;

export interface RestoreResult {
  ok: boolean;
  id: string;
  dryRun: boolean;
  plan: RestorePlan;
  parity: ParityRow[];
  /** Which kinds of object were compared, and why any were not; empty on a dry run. */
  compared: ComparedKind[];
  durationMs: number;
  /** In place: the pinned backup of the target taken first, and the command that puts it back. */
  safety?: { id: string; command: string };
}

/** The envs whose restores need a second person (as their backups do), and in-place ones always. */
function approvalNeeded(args: RestoreArgs, approvalEnvs: readonly string[]): string | undefined {
  if (args.dryRun) return undefined;
  if (args.toEnv && approvalEnvs.includes(args.toEnv)) return `a restore into ${args.toEnv}`;
  if (args.inPlace) return "an in-place restore";
  return undefined;
}

async function run(ctx: CommandContext, input: RestoreArgs): Promise<RestoreResult> {
  const args = restoreArgs.parse(input);
  const { runRestore } = await import("../src/restore/guarded-restore.js");
  const request = restoreRequest(ctx, args);
  // From Slack the bot's approval flow asked before the job started.
  const needs = ctx.via === "slack" ? undefined : approvalNeeded(args, approvalEnvsOf(readSettings()));
  let approvedBy: string | null = ctx.approvedBy ?? null;
  if (needs) {
    // The plan's refusals first (wrong target, not empty, unconfirmed): nobody is asked for a restore that can't run.
    const plan = await runRestore({ ...request, dryRun: true });
    const { awaitApprovalInSlack } = await import("./kit/terminal-approval.js");
    approvedBy = await awaitApprovalInSlack(ctx.config, {
      env: args.toEnv ?? "adhoc",
      needs,
      what: `restore ${plan.plan.id} into ${plan.plan.target.database} at ${plan.plan.target.display}${args.inPlace ? ", in place" : ""}`,
      requestedBy: ctx.requestedBy,
      signal: ctx.signal,
      onNote: ctx.onNote,
    });
  }
  const outcome = args.dryRun
    ? await runRestore(request)
    : await audited(ctx, args, approvedBy, () => runRestore(request));
  return {
    ok: outcome.ok,
    id: outcome.plan.id,
    dryRun: outcome.dryRun,
    plan: outcome.plan,
    parity: outcome.parity,
    compared: outcome.compared,
    durationMs: outcome.ms,
    ...(outcome.safety ? { safety: outcome.safety } : {}),
  };
}

/** A restore's lines in the audit log: who, into what (no password), approved by whom, how it ended. */
async function audited(
  ctx: CommandContext,
  args: z.output<typeof restoreArgs>,
  approvedBy: string | null,
  work: () => Promise<RestoreOutcome>,
): Promise<RestoreOutcome> {
  const [{ audit }, { stateFor }] = await Promise.all([
    import("../src/state/audit.js"),
    import("../src/state/open.js"),
  ]);
  const state = stateFor(ctx.config);
  const into = args.toEnv ?? "a URL";
  void audit(state, "restore-started", {
    backup: args.ref,
    into,
    inPlace: args.inPlace,
    by: ctx.requestedBy,
    approvedBy,
    via: ctx.via ?? "terminal",
  });
  try {
    const outcome = await work();
    void audit(state, "restore-finished", {
      backup: outcome.plan.id,
      into: outcome.plan.target.display,
      ok: outcome.ok,
      safety: outcome.safety?.id ?? null,
    });
    return outcome;
  } catch (error) {
    void audit(state, "restore-failed", {
      backup: args.ref,
      into,
      code: isDbBackupError(error) ? error.code : "internal_error",
    });
    throw error;
  }
}

function restoreRequest(ctx: CommandContext, args: z.output<typeof restoreArgs>): RestoreRequest {
  return {
    config: ctx.config,
    ref: args.ref,
    to: { env: args.toEnv, url: args.toUrl },
    inPlace: args.inPlace,
    confirm: args.confirm,
    createRoles: args.createRoles,
    dryRun: args.dryRun,
    needsConfirm: ctx.via !== "slack",
    jobs: args.jobs,
    requestedBy: ctx.requestedBy,
    cwd: ctx.cwd ?? process.cwd(),
    signal: ctx.signal,
    safetyBackup: (target) => safetyBackup(ctx, args, target),
    onProgress: progressNotes(ctx),
  };
}

/** Tables restored of total and the time so far, a line at most every 2 seconds (stderr at the terminal). */
function progressNotes(ctx: CommandContext): RestoreRequest["onProgress"] {
  let last = Number.NEGATIVE_INFINITY;
  return ({ tablesDone, tablesTotal, elapsedMs }) => {
    if (elapsedMs - last < 2_000 && tablesDone < tablesTotal) return;
    last = elapsedMs;
    ctx.onNote?.(`restoring: ${tablesDone} of ${tablesTotal} tables, ${Math.round(elapsedMs / 1000)} s`);
    // Slack's job message shows the same, as a backup's progress does.
    ctx.onEvent?.({ type: "tables", done: tablesDone, total: tablesTotal, table: "" });
  };
}

/** A backup of the target through the normal pipeline (stage 2), pinned, before it is replaced. */
async function safetyBackup(ctx: CommandContext, args: z.output<typeof restoreArgs>, target: Target) {
  const [{ runBackup }, { setPin }] = await Promise.all([
    import("../src/backup/pipeline.js"),
    import("../src/backup/pins.js"),
  ]);
  const backup = await runBackup({
    config: ctx.config,
    ...(args.toEnv ? { env: args.toEnv } : { url: args.toUrl }),
    label: "pre-restore",
    requestedBy: ctx.requestedBy,
    signal: ctx.signal,
    onEvent: ctx.onEvent,
  });
  await setPin(ctx.config, backup.id, {
    reason: `safety backup before restoring ${args.ref} over ${target.database}`,
    by: ctx.requestedBy,
    at: new Date().toISOString(),
  });
  const to = args.toEnv ? `--to ${args.toEnv}` : `--to-url "$TARGET_DATABASE_URL"`;
  return {
    id: backup.id,
    command: `dbbackup restore ${backup.id} ${to} --in-place --confirm ${target.database}`,
  };
}

function restoreWords(words: Words): RestoreArgs {
  const [ref, ...extra] = words.positionals;
  const toEnv = optionValue(words, "to");
  const toUrl = optionValue(words, "to-url");
  if (!ref || extra.length > 0 || (toEnv === undefined) === (toUrl === undefined))
    throw usage(
      "restore takes a backup and one target: dbbackup restore <ID> --to staging, or --to-url URL.",
      "Preferred: a fresh database (--to-url). In place (over what is there) needs --in-place --confirm <database>.",
    );
  const jobs = optionValue(words, "jobs");
  const args: RestoreArgs = {
    ref,
    inPlace: words.options["in-place"] === true,
    createRoles: words.options["create-roles"] === true,
    dryRun: words.options["dry-run"] === true,
  };
  if (toEnv !== undefined) args.toEnv = knownEnv(toEnv, words.envs);
  if (toUrl !== undefined) args.toUrl = toUrl;
  const confirm = optionValue(words, "confirm");
  if (confirm !== undefined) args.confirm = confirm;
  if (jobs !== undefined) {
    if (!/^[1-9][0-9]?$/.test(jobs))
      throw usage(
        `--jobs takes a number of parallel jobs, e.g. --jobs 4, not ${JSON.stringify(jobs.slice(0, 20))}.`,
      );
    args.jobs = Number(jobs);
  }
  return args;
}

export const verb = defineVerb({
  name: "restore",
  order: 55,
  writes: true,
  summary:
    "Restore a backup into a database, guarded: identified, checked, safety backup first when in place.",
  usage: {
    terminal:
      "dbbackup restore <ID|PATH> (--to ENV | --to-url URL) [--in-place --confirm DATABASE] [--create-roles] [--dry-run] [--jobs N] [--json]",
    slack: "/dbbackup restore <id> to <env> [in-place] [dry-run]",
    details: [
      "Preferred: into a fresh database. --in-place replaces what is there (pg_restore --clean --if-exists),",
      "after a pinned, verified backup of it (label pre-restore); --dry-run says what would happen.",
    ],
  },
  options: {
    to: { value: "ENV" },
    "to-url": { value: "URL" },
    "in-place": {},
    confirm: { value: "DATABASE" },
    "create-roles": {},
    "dry-run": {},
    jobs: { value: "N" },
  },
  args: restoreArgs,
  fromWords: restoreWords,
  run,
  terminal: { render: (r, style) => renderRestore(r, style), exitCode: (r) => (r.ok ? 0 : 1) },
  slack: {
    mode: "job",
    fromWords: slackWords,
    check(args) {
      if (args.toUrl !== undefined)
        throw usage(
          "A URL isn't accepted from Slack: typed in a channel it would carry its password.",
          "Restore into a configured env (/dbbackup restore <id> to staging), or use the terminal for --to-url.",
        );
      if (!isBackupId(args.ref))
        throw usage(`"${args.ref.slice(0, 60)}" is not a backup id.`, "/dbbackup list shows them.");
    },
    approval(args, envs) {
      if (!approvalNeeded(args, envs)) return null;
      return {
        env: args.toEnv ?? "staging",
        label: null,
        reason: null,
        restore: { what: whatOf(args), args },
      };
    },
    render: (r) => restoreDoneView(r),
    job: {
      auditAs: "restore",
      auditsItself: true,
      title: (args) => whatOf(args),
      env: (args) => args.toEnv ?? "staging",
      label: () => null,
      started: (args, by) => restoreStartedView(whatOf(args), by),
      progress: (args, by, p) => restoreStartedView(whatOf(args), by, p),
      failed: (args, by, problem, hint, code) => restoreFailedView(whatOf(args), by, problem, hint, code),
      doneText: (r) => `${r.id} restored into ${r.plan.target.database}${r.ok ? "" : " with differences"}.`,
    },
  },
});

const whatOf = (args: RestoreArgs) =>
  `restore of ${args.ref} into ${args.toEnv ?? "staging"}${args.inPlace ? ", in place" : ""}`;

/** `/dbbackup restore <id> to <env> [in-place] [dry-run]`: words, since Slack has no flags to type. */
function slackWords(words: Words): RestoreArgs {
  const [ref, to, env, ...rest] = words.positionals;
  const extra = rest.filter((w) => w !== "in-place" && w !== "dry-run");
  if (!ref || to !== "to" || !env || extra.length > 0)
    throw usage(
      "/dbbackup restore <id> to <env> [in-place] [dry-run]",
      "Example: /dbbackup restore 20261129_084212_staging to staging",
    );
  const toUrl = optionValue(words, "to-url");
  return {
    ref,
    toEnv: knownEnv(env, words.envs),
    // Kept only so check() refuses it by name: a URL typed in a channel carries its password.
    ...(toUrl !== undefined ? { toUrl } : {}),
    inPlace: rest.includes("in-place"),
    dryRun: rest.includes("dry-run"),
    createRoles: false,
  };
}
