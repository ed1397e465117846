import path from "node:path";
import { z } from "zod/v3";
import { listBackups } from "../src/backup/catalog.js";
import { diffExtensions, type ExtensionChanges } from "../src/backup/extension-diff.js";
import { checkLabel } from "../src/backup/ids.js";
import { type FileEntry, type Manifest, readManifest, type StageResult } from "../src/backup/manifest.js";
import { diffRows, type RowChanges } from "../src/backup/row-changes.js";
import { envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./kit/context.js";
import { copyIfConfigured, type OffsiteOutcome } from "./kit/offsite-outcome.js";
import { defineVerb, type Words } from "./kit/verb.js";
import { knownEnv, optionValue, shown, usage } from "./kit/words.js";
import {
  backupDoneView,
  backupFailedView,
  backupStartedView,
  restoreHintView,
} from "./views/slack/backup-views.js";
import { renderBackup } from "./views/terminal/render.js";

export const backupArgs = z.object({
  env: envNameSchema.optional(),
  // Length and characters are checked by checkLabel, whose message says the rules.
  label: z.string().optional(),
  url: z.string().max(4096).optional(),
  restoreHint: z.boolean().default(true),
  /** Slack: why a backup that needs approval is asked for (the words after the label). */
  reason: z.string().max(300).optional(),
});
export type BackupArgs = z.input<typeof backupArgs>;

export interface BackupResult {
  ok: true;
  id: string;
  dir: string;
  env: string;
  label: string | null;
  source: string;
  target: string;
  requestedBy: string;
  serverVersion: string;
  pgDumpVersion: string;
  compression: string;
  /** Why that compression ("sample of 0.5 MB …", "DBBACKUP_COMPRESS=…"); absent in older manifests. */
  compressionWhy?: string;
  files: FileEntry[];
  totalBytes: number;
  databaseBytes: number;
  extensions: { name: string; version: string }[];
  views: number;
  securityInvokerViews: number;
  tocEntries: number;
  tocCounts: Manifest["toc"]["counts"];
  stage: Manifest["verification"]["stage"];
  stages: StageResult[];
  durationMs: number;
  /** Database size over wall time: how fast, in the reader's terms. */
  mbPerSecond: number;
  warnings: string[];
  /** Views anon/authenticated may read without security_invoker=true: RLS can be bypassed through them. */
  exposedViews: string[];
  /** Extensions added, removed or upgraded since the previous verified backup of this env. */
  extensionChanges?: ExtensionChanges & { since: string };
  /** Row counts per table since the previous verified backup of this env; big drops flagged. */
  rowChanges?: RowChanges & { since: string };
  /** How to restore it; absent with --no-restore-hint. */
  restoreCommand?: string;
  /** Its encrypted off-site copy, when DBBACKUP_OFFSITE_URL is set: proven, or why it failed. */
  offsite?: OffsiteOutcome;
}

/** Quoted only when needed, so the usual line stays the runbook's and an odd path still pastes safely. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/** The runbook's restore line, with the URL left in its variable so no secret is printed. */
export function restoreCommand(manifest: Manifest, dir: string, cwd: string): string {
  const rel = path.relative(cwd, dir);
  const shown = rel.startsWith("..") || path.isAbsolute(rel) ? dir : rel;
  const urlVar = manifest.source === "--url" ? "TARGET_DATABASE_URL" : manifest.source;
  return `pg_restore --clean --if-exists --no-owner --no-privileges -j4 -d "$${urlVar}" ${shellQuote(path.join(shown, "db_full.dump"))}`;
}

export function backupResult(manifest: Manifest, dir: string, withHint: boolean, cwd: string): BackupResult {
  const seconds = Math.max(0.001, (manifest.durationsMs.total ?? 0) / 1000);
  return {
    ok: true,
    id: manifest.id,
    dir,
    env: manifest.env,
    label: manifest.label,
    source: manifest.source,
    target: manifest.target,
    requestedBy: manifest.requestedBy,
    serverVersion: manifest.server.version,
    pgDumpVersion: manifest.client.version,
    compression: manifest.compression,
    ...(manifest.compressionChoice ? { compressionWhy: manifest.compressionChoice.why } : {}),
    files: manifest.files,
    totalBytes: manifest.totalBytes,
    databaseBytes: manifest.catalog.databaseBytes,
    extensions: manifest.catalog.extensions.map(({ name, version }) => ({ name, version })),
    views: manifest.catalog.views,
    securityInvokerViews: manifest.catalog.securityInvokerViews,
    tocEntries: manifest.toc.entries,
    tocCounts: manifest.toc.counts,
    stage: manifest.verification.stage,
    stages: manifest.verification.stages,
    durationMs: manifest.durationsMs.total ?? 0,
    mbPerSecond: Math.round((manifest.catalog.databaseBytes / 1_048_576 / seconds) * 10) / 10,
    warnings: manifest.warnings,
    exposedViews: manifest.catalog.exposedViews ?? [],
    ...(withHint ? { restoreCommand: restoreCommand(manifest, dir, cwd) } : {}),
  };
}

async function run(ctx: CommandContext, input: BackupArgs): Promise<BackupResult> {
  const args = backupArgs.parse(input);
  // The pipeline loads pg and execa: only a backup pays for them.
  const { runBackup } = await import("../src/backup/pipeline.js");
  const outcome = await runBackup({
    config: ctx.config,
    env: args.env,
    url: args.url,
    label: args.label,
    requestedBy: ctx.requestedBy,
    jobId: ctx.jobId,
    signal: ctx.signal,
    onEvent: ctx.onEvent,
  });
  const result = backupResult(outcome.manifest, outcome.dir, args.restoreHint, ctx.cwd ?? process.cwd());
  const changes = await changesSincePrevious(ctx.config, outcome.manifest);
  const offsite = await copyIfConfigured(ctx.config, outcome.manifest.id, ctx.requestedBy, ctx.signal);
  return { ...result, ...changes, ...(offsite ? { offsite } : {}) };
}

/** The previous verified backup of the same env, compared by extensions and rows (none for a first backup). */
async function changesSincePrevious(
  config: CommandContext["config"],
  manifest: Manifest,
): Promise<Pick<BackupResult, "extensionChanges" | "rowChanges"> | undefined> {
  if (manifest.env === "adhoc") return undefined; // one-off URLs may each be a different database
  const { backups } = await listBackups(config.backupsDir, stateFor(config), manifest.env);
  // By time, not id: two backups in the same second sort by label.
  const previous = backups
    .filter((b) => b.id !== manifest.id && b.finishedAt <= manifest.startedAt)
    .filter((b) => b.stage === "readable" || b.stage === "restored")
    .sort((x, y) => y.finishedAt.localeCompare(x.finishedAt))[0];
  if (!previous) return undefined;
  try {
    const before = await readManifest(previous.dir);
    return {
      extensionChanges: {
        since: previous.id,
        ...diffExtensions(before.catalog.extensions, manifest.catalog.extensions),
      },
      rowChanges: {
        since: previous.id,
        ...diffRows(before.catalog.tables, manifest.catalog.tables, config.rowDropPercent),
      },
    };
  } catch {
    return undefined; // an unreadable older manifest is list's business, not this backup's
  }
}

/** `[ENV] [LABEL]`: one word is an env when it names one, else a label for staging. */
function backupWords(words: Words): BackupArgs {
  const w = words.positionals;
  if (w.length > 2) {
    throw usage(
      `Too many words: ${w.map(shown).join(" ")}. A backup takes [ENV] [LABEL].`,
      "Example: dbbackup prod pre-upgrade",
    );
  }
  let env: string | undefined;
  let label: string | undefined;
  if (w.length === 2) [env, label] = [knownEnv(w[0] ?? "", words.envs), w[1]];
  else if (w.length === 1) {
    if (words.envs.has(w[0] ?? "")) env = w[0];
    else label = w[0];
  }
  const args: BackupArgs = { restoreHint: words.options["no-restore-hint"] !== true };
  if (env !== undefined) args.env = env;
  if (label !== undefined) args.label = label;
  const url = optionValue(words, "url");
  if (url !== undefined) args.url = url;
  return args;
}

function startOf(args: BackupArgs, requestedBy: string) {
  return { env: args.env ?? "staging", label: args.label ?? null, requestedBy };
}

export const verb = defineVerb({
  name: "backup",
  order: 0,
  isDefault: true,
  writes: true,
  summary: 'Back up ENV (default staging) with an optional LABEL, e.g. "pre-upgrade".',
  usage: {
    terminal: "dbbackup [ENV] [LABEL] [--url URL] [--no-restore-hint] [--json]",
    slack: "/dbbackup [env] [label]",
    details: [
      "ENV: staging (DATABASE_URL_STAGING, else legacy DATABASE_URL), prod (DATABASE_URL_PROD),",
      'or any NAME with DATABASE_URL_<NAME>. --url backs up a one-off URL, filed as "adhoc".',
    ],
  },
  slackSummary: "back up now (staging by default); prod asks a second person to approve",
  options: { url: { value: "URL" }, "no-restore-hint": {} },
  args: backupArgs,
  fromWords: backupWords,
  run,
  terminal: {
    render: (r, style) => renderBackup(r, style),
    // The local backup is good; a copy that didn't make it off-site is still a failure to act on.
    exitCode: (r) => (r.offsite?.ok === false ? 1 : 0),
  },
  slack: {
    mode: "job",
    fromWords(words) {
      const approval = words.approvalEnvs ?? [];
      const [first, second, ...more] = words.positionals;
      // `/dbbackup prod pre-upgrade before the 15.8 upgrade`: what follows the label is the reason.
      if (first !== undefined && second !== undefined && approval.includes(first) && more.length > 0)
        return {
          ...backupWords({ ...words, positionals: [first, second] }),
          reason: more.join(" ").slice(0, 300),
        };
      return backupWords(words);
    },
    check(args) {
      if (args.url !== undefined)
        throw usage(
          "--url isn't accepted from Slack: a URL typed in a channel would carry its password.",
          "Set the environment's URL (DATABASE_URL_<ENV>) on the bot's host, then: /dbbackup <env> [label]",
        );
      if (args.label !== undefined) checkLabel(args.label);
    },
    approval(args, envs) {
      const env = args.env ?? "staging";
      return envs.includes(env) ? { env, label: args.label ?? null, reason: args.reason ?? null } : null;
    },
    render: (r) => backupDoneView(r),
    job: {
      auditAs: "backup",
      title: (args) => `${args.env ?? "staging"} backup`,
      env: (args) => args.env ?? "staging",
      label: (args) => args.label ?? null,
      recorded: true,
      started: (args, by) =>
        backupStartedView({
          ...startOf(args, by),
          step: "starting",
          tablesDone: 0,
          tablesTotal: undefined,
          bytes: 0,
          elapsedMs: 0,
        }),
      progress: (args, by, p) => backupStartedView({ ...startOf(args, by), ...p }),
      failed: (args, by, problem, hint, code) =>
        backupFailedView(args.env ?? "staging", by, problem, hint, code),
      thread: (r) => (r.restoreCommand ? restoreHintView(r.restoreCommand) : null),
      doneText: (r) => `The ${r.env} backup ${r.id} is verified (stage ${r.stage}).`,
      after(r, bot) {
        if (r.label === "pre-upgrade") bot.runGuardrailJob("windows");
        bot.runGuardrailJob("retention", "after-backup");
      },
    },
  },
});
