import { z } from "zod/v3";
import { type Config, envNameSchema } from "../config.js";
import type { OffsitePruneResult } from "../offsite/prune-offsite.js";
import type { Pin } from "../state/annotations.js";
import { audit } from "../state/audit.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { findBackups, type IgnoredEntry } from "./backup-folders.js";
import { executeRetention, gatherFacts, type RetentionOutcome } from "./prune-run.js";
import {
  planRetention,
  type RetentionDecision,
  type RetentionRules,
  type RunningBackup,
} from "./retention.js";

export const pruneArgs = z.object({
  env: envNameSchema.optional(),
  dryRun: z.boolean().default(false),
});
export type PruneArgs = z.input<typeof pruneArgs>;

export interface PruneItem extends RetentionDecision {
  dir: string;
  bytes: number;
  /** What happened (a real prune): deleted, kept, or spared at the last moment / failed, with why. */
  outcome?: "deleted" | "kept" | "spared" | "failed";
  /** Why a planned delete did not happen. */
  note?: string;
}

export interface PruneResult {
  ok: true;
  root: string;
  env: string | null;
  dryRun: boolean;
  rules: RetentionRules;
  /** Every backup considered, env by env, newest first, with its decision. */
  backups: PruneItem[];
  /** Ids deleted (a real prune) or that would be (dry run), and their total size. */
  deleted: string[];
  freedBytes: number;
  /** Entries in the backups folder that are not dbbackup backups: left alone. */
  ignored: IgnoredEntry[];
  /** Envs with a backup running: nothing of theirs was touched. */
  running: (RunningBackup & { env: string })[];
  /** A real prune stopped by Ctrl-C before it finished. */
  stopped: boolean;
  /** The bucket's side, with its own counts: present only when off-site copies are set up. */
  offsite?: OffsitePruneResult;
}

/** Who asked for a prune, for the audit log of what it deleted. */
export interface PruneRequest {
  config: Config;
  requestedBy: string;
  via: "terminal" | "slack" | "schedule";
  signal?: AbortSignal | undefined;
}

/** The retention rules applied (or, dry, planned): what went, what stayed and why. Audited. */
export async function pruneBackups(request: PruneRequest, input: PruneArgs): Promise<PruneResult> {
  const ctx = request;
  const args = pruneArgs.parse(input);
  const root = ctx.config.backupsDir;
  const rules = ctx.config.retention;
  const state = stateFor(ctx.config);
  const found = await findBackups(root, state, args.env);
  const facts = await gatherFacts(state, [
    ...found.backups.map((b) => b.env),
    ...(args.env ? [args.env] : []),
  ]);
  const plan = planRetention(found.backups, rules, facts);
  const byId = new Map(found.backups.map((b) => [b.id, b]));
  const items: PruneItem[] = plan.map((d) => ({
    ...d,
    dir: byId.get(d.id)?.dir ?? "",
    bytes: byId.get(d.id)?.totalBytes ?? 0,
  }));
  let stopped = false;
  if (!args.dryRun) {
    const outcome = await executeRetention(root, state, plan, ctx.signal);
    stopped = outcome.stopped;
    applyOutcome(items, outcome);
  }
  const gone = items.filter((i) => (args.dryRun ? i.action === "delete" : i.outcome === "deleted"));
  if (!args.dryRun) {
    for (const b of gone) {
      await audit(state, "pruned", {
        id: b.id,
        env: b.env,
        rule: b.rule,
        reason: b.reason,
        by: ctx.requestedBy,
        via: ctx.via,
      });
    }
  }
  const offsite = await pruneBucket(ctx, state, args, found.backups);
  return {
    ok: true,
    root,
    env: args.env ?? null,
    dryRun: args.dryRun,
    rules,
    backups: items,
    deleted: gone.map((i) => i.id),
    freedBytes: gone.reduce((sum, i) => sum + i.bytes, 0),
    ignored: found.ignored,
    running: [...facts.running].map(([env, r]) => ({ env, ...r })),
    stopped,
    ...(offsite ? { offsite } : {}),
  };
}

function applyOutcome(items: PruneItem[], outcome: RetentionOutcome): void {
  const deleted = new Set(outcome.deleted);
  const spared = new Map(outcome.spared.map((s) => [s.id, s.reason]));
  const failed = new Map(outcome.failed.map((f) => [f.id, f.reason]));
  for (const item of items) {
    if (item.action === "keep") item.outcome = "kept";
    else if (deleted.has(item.id)) item.outcome = "deleted";
    else if (spared.has(item.id)) {
      item.outcome = "spared";
      item.note = spared.get(item.id);
    } else if (failed.has(item.id)) {
      item.outcome = "failed";
      item.note = failed.get(item.id);
    } else {
      item.outcome = "kept";
      item.note = "not reached: prune was stopped";
    }
  }
}

/**
 * The off-site copies, by their own counts (loaded only when off-site is set up, so a prune without
 * it never loads the S3 client). Pins hold on both sides. Audited like local deletes.
 */
async function pruneBucket(
  ctx: PruneRequest,
  state: StateStore,
  args: z.output<typeof pruneArgs>,
  local: readonly { id: string; pin?: Pin }[],
): Promise<OffsitePruneResult | undefined> {
  const settings = ctx.config.offsite;
  if (!settings) return undefined;
  const { pruneOffsite } = await import("../offsite/prune-offsite.js");
  const pins = new Map(local.flatMap((b): [string, Pin][] => (b.pin ? [[b.id, b.pin]] : [])));
  const result = await pruneOffsite(settings, state, {
    env: args.env,
    dryRun: args.dryRun,
    signal: ctx.signal,
    pins,
  });
  if (!args.dryRun)
    for (const c of result.copies.filter((x) => x.outcome === "deleted"))
      await audit(state, "offsite-pruned", {
        id: c.id,
        env: c.env,
        rule: c.rule,
        reason: c.reason,
        by: ctx.requestedBy,
        via: ctx.via,
      });
  return result;
}
