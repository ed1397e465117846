import { isDbBackupError } from "../../errors.js";
import { GuardrailMemory } from "../../state/guardrail-memory.js";
import { stateFor } from "../../state/open.js";
import { WindowStore } from "../../state/windows.js";
import {
  backupRef,
  type GuardrailContext,
  isPreUpgrade,
  type JobReport,
  reporter,
  verifiedBackups,
} from "../context.js";
import { readUpgradeState } from "../supabase-api.js";

const DAY = 86_400_000;

/**
 * Supabase upgrade awareness (only with SUPABASE_ACCESS_TOKEN and a project ref per env): when the
 * Management API says an upgrade is running, or available, and no pre-upgrade backup is recent, nag.
 * Running: at most daily. Available (it may sit for weeks): at most weekly, and not while a declared
 * window of that env already does the nagging.
 */
export async function runSupabase(ctx: GuardrailContext): Promise<JobReport> {
  const { report, post, problem } = reporter(ctx, "supabase");
  const api = ctx.settings.supabase;
  if (!api) return report;
  const state = stateFor(ctx.config);
  const memory = new GuardrailMemory(state);
  const windows = await new WindowStore(state).open();
  const now = ctx.now();
  const all = await verifiedBackups(ctx.config);
  for (const [env, ref] of [...api.refs].sort(([a], [b]) => a.localeCompare(b))) {
    if (ctx.signal?.aborted) break;
    let state: Awaited<ReturnType<typeof readUpgradeState>>;
    try {
      state = await readUpgradeState(
        { apiUrl: api.apiUrl, token: api.token, ...(ctx.signal ? { signal: ctx.signal } : {}) },
        ref,
      );
    } catch (error) {
      problem(
        `${env}: ${isDbBackupError(error) ? `${error.message} ${error.hint}` : "the Supabase API call failed"}`,
      );
      continue;
    }
    if (!state.upgradeRunning && !state.upgradeAvailable) continue;
    const lastPreUpgrade = all.find((b) => b.env === env && isPreUpgrade(b));
    const recent =
      lastPreUpgrade !== undefined &&
      now.getTime() - new Date(lastPreUpgrade.finishedAt).getTime() <= ctx.settings.supabaseRecentMs;
    if (recent) continue;
    if (!state.upgradeRunning && windows.some((w) => w.env === env)) continue;
    const key = `supabase:${env}:${state.upgradeRunning ? "running" : `available:${state.targetVersion ?? "?"}`}`;
    const last = await memory.sentAt(key);
    if (last && now.getTime() - last.getTime() < (state.upgradeRunning ? DAY : 7 * DAY)) continue;
    const said = await post({
      kind: "supabase-upgrade",
      env,
      ref,
      running: state.upgradeRunning,
      currentVersion: state.currentVersion,
      targetVersion: state.targetVersion,
      lastPreUpgrade: lastPreUpgrade ? backupRef(lastPreUpgrade) : null,
    });
    if (said) await memory.remember(key, now);
  }
  return report;
}
