import type { App } from "@slack/bolt";
import { type ApprovalButtonDeps, register as approvalButtons } from "./actions/approval-buttons.js";
import { type BackupNowDeps, register as backupNow } from "./actions/backup-now.js";
import { type DrillNowDeps, register as drillNow } from "./actions/drill-now.js";
import { register as dbbackupCommand, type SlashCommandDeps } from "./commands/dbbackup.js";

export type ListenerDeps = SlashCommandDeps & ApprovalButtonDeps & BackupNowDeps & DrillNowDeps;

/** Every way Slack reaches the bot: the slash command and the buttons on its messages. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  dbbackupCommand(app, deps);
  approvalButtons(app, deps);
  backupNow(app, deps);
  drillNow(app, deps);
}
