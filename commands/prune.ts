import { type PruneArgs, type PruneResult, pruneArgs, pruneBackups } from "../src/backup/prune.js";
import { ADHOC_ENV } from "../src/backup/target.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, shown, usage } from "./kit/words.js";
import { renderPrune } from "./views/terminal/render-retention.js";

export type { PruneArgs, PruneItem, PruneResult } from "../src/backup/prune.js";

export const verb = defineVerb({
  name: "prune",
  order: 30,
  writes: true,
  summary: "Delete old backups by the retention rules.",
  usage: {
    terminal: "dbbackup prune [ENV] [--dry-run] [--json]",
    details: [
      "Per env keep the last DBBACKUP_KEEP_ON_DEMAND (5) on-demand and the last",
      "DBBACKUP_KEEP_PRE_UPGRADE (2) pre-upgrade ones; never a pinned one, one a restore test is",
      "reading, the env's newest verified one, or anything of an env while its backup runs.",
      "With off-site copies set up, the bucket too, by its own counts: DBBACKUP_OFFSITE_KEEP_ON_DEMAND",
      "(30) and DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE (10); pins hold there too, and so does the env's",
      "newest proven copy.",
      "--dry-run shows what would go and why, deleting nothing.",
    ],
  },
  options: { "dry-run": {} },
  args: pruneArgs,
  fromWords({ positionals, options, envs }) {
    if (positionals.length > 1)
      throw usage(
        `prune takes at most one environment, got ${positionals.length}: ${positionals.map(shown).join(" ")}.`,
      );
    const dryRun = options["dry-run"] === true;
    const env = positionals[0];
    // --url backups are filed as adhoc, so adhoc can be pruned by name.
    if (env === undefined) return { dryRun };
    return { env: env === ADHOC_ENV ? env : knownEnv(env, envs), dryRun };
  },
  run: (ctx, args: PruneArgs): Promise<PruneResult> =>
    pruneBackups({ ...ctx, via: ctx.via ?? "terminal" }, args),
  terminal: {
    render: (r, style) => renderPrune(r, style),
    exitCode: (r) =>
      r.stopped || r.offsite?.stopped
        ? 130
        : r.backups.some((b) => b.outcome === "failed") ||
            r.offsite?.error ||
            r.offsite?.copies.some((c) => c.outcome === "failed")
          ? 1
          : 0,
  },
});
