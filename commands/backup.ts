import path from "node:path";
import { z } from "zod/v3";
import { listBackups } from "../src/backup/catalog.js";
import { diffExtensions, type ExtensionChanges } from "../src/backup/extension-diff.js";
import { type FileEntry, type Manifest, readManifest, type StageResult } from "../src/backup/manifest.js";
import { runBackup } from "../src/backup/pipeline.js";
import { diffRows, type RowChanges } from "../src/backup/row-changes.js";
import { envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./context.js";

export const backupArgs = z.object({
  env: envNameSchema.optional(),
  // Length and characters are checked by checkLabel, whose message says the rules.
  label: z.string().optional(),
  url: z.string().max(4096).optional(),
  restoreHint: z.boolean().default(true),
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

export async function run(ctx: CommandContext, input: BackupArgs): Promise<BackupResult> {
  const args = backupArgs.parse(input);
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
  return changes ? { ...result, ...changes } : result;
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
