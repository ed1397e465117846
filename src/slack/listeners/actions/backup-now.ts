import type { App } from "@slack/bolt";
import { BACKUP_NOW_ACTION } from "../../../../commands/views/slack/guardrail-views.js";
import { audit } from "../../../state/audit.js";
import type { StateStore } from "../../../state/store.js";
import { actionValue, type GuardrailClickDeps, readGuardrailClick } from "./guardrail-click.js";

export interface BackupNowDeps extends GuardrailClickDeps {
  state: StateStore;
  approvalEnvs: readonly string[];
  requestApproval(userId: string, env: string, label: string | null, reason: string | null): Promise<void>;
  /** Starts the backup in the background. */
  startBackup(userId: string, env: string, label: string | undefined, askedIn: string): void;
}

/** "Back up now" on a reminder (a missing pre-upgrade backup, a stale one): a backup, or its approval request. */
export function register(app: App, deps: BackupNowDeps): void {
  app.action(BACKUP_NOW_ACTION, async ({ ack, body, action }) => {
    await ack();
    const click = await readGuardrailClick(app.client, deps, body, actionValue(action));
    if (!click) return;
    const label = click.label ?? null;
    void audit(deps.state, "request", {
      verb: "backup",
      env: click.env,
      label,
      by: click.clicker,
      from: "guardrail button",
    });
    if (deps.approvalEnvs.includes(click.env)) {
      await deps.requestApproval(click.clicker, click.env, label, "asked for from a dbbackup reminder");
      return;
    }
    deps.startBackup(click.clicker, click.env, label ?? undefined, click.channel);
  });
}
