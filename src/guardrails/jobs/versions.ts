import type { BackupSummary } from "../../backup/catalog.js";
import { readLiveServerVersion } from "../../backup/catalog-snapshot.js";
import { resolveTarget } from "../../backup/target.js";
import { isDbBackupError } from "../../errors.js";
import { GuardrailMemory } from "../../state/guardrail-memory.js";
import { stateFor } from "../../state/open.js";
import {
  backupRef,
  type GuardrailContext,
  isPreUpgrade,
  type JobReport,
  reporter,
  verifiedBackups,
} from "../context.js";
import { pgVersionNumber } from "../notices.js";
import { checkDeadMan, lastOffsiteCopies } from "./dead-man.js";

/**
 * Was the server at `from` backed up with the pre-upgrade label before it moved on? Yes when a
 * pre-upgrade backup at `from` is newer than every backup taken at another version; pure.
 */
export function preUpgradeBefore(backups: readonly BackupSummary[], from: string): BackupSummary | undefined {
  const at = (b: BackupSummary) => pgVersionNumber(b.serverVersion);
  const lastOther = backups.find((b) => at(b) !== from);
  return backups.find(
    (b) => at(b) === from && isPreUpgrade(b) && (!lastOther || b.finishedAt > lastOther.finishedAt),
  );
}

/**
 * After the fact, per configured env: the live version differs from the newest backup's with no
 * pre-upgrade backup before the change (said once per change); and the dead-man alert, when no
 * backup reached stage 2 (or, off-site set up, the bucket) in `deadManDays` (said once a day until one does).
 */
export async function runVersions(ctx: GuardrailContext): Promise<JobReport> {
  const { report, post, problem } = reporter(ctx, "versions");
  const state = stateFor(ctx.config);
  const memory = new GuardrailMemory(state);
  const now = ctx.now();
  const all = await verifiedBackups(ctx.config);
  // Off-site set up: the dead-man also watches that backups reach the bucket.
  const copies = ctx.config.offsite ? lastOffsiteCopies(all) : undefined;
  for (const env of [...ctx.config.environments.keys()].sort()) {
    if (ctx.signal?.aborted) break;
    const backups = all.filter((b) => b.env === env);
    const newest = backups[0];
    await checkDeadMan(ctx, memory, post, env, { newest, copies });
    if (!newest) continue;
    let live: string;
    try {
      live = pgVersionNumber(await readLiveServerVersion(resolveTarget(ctx.config, { env })));
    } catch (error) {
      problem(
        `${env}: could not read the live version: ${isDbBackupError(error) ? error.message : String(error)}`,
      );
      continue;
    }
    const from = pgVersionNumber(newest.serverVersion);
    if (live === from || preUpgradeBefore(backups, from)) continue;
    const key = `version:${env}:${from}->${live}`;
    if (await memory.sentAt(key)) continue;
    const said = await post({ kind: "version-changed", env, from, to: live, lastBackup: backupRef(newest) });
    if (said) await memory.remember(key, now);
  }
  return report;
}
