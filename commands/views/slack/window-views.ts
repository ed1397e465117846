import { formatHoursMinutes, formatUtc } from "../../../src/format.js";
import type { MaintenanceWindow } from "../../../src/state/windows.js";
import { context, escapeMrkdwn, message, type SlackMessage, section, who } from "./blocks.js";

/** Block Kit for maintenance windows: the `upgrade` verb's answers, and a window's title and times. */

/** Slack shows each reader the time in their own zone; the fallback is UTC. */
export function when(iso: string): string {
  const unix = Math.floor(new Date(iso).getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time}|${formatUtc(iso)}>`;
}

export function windowTitle(w: MaintenanceWindow): string {
  return `${w.env} upgrade window ${when(w.startsAt)} (${formatHoursMinutes(new Date(w.endsAt).getTime() - new Date(w.startsAt).getTime())})${w.note ? `: ${escapeMrkdwn(w.note)}` : ""}`;
}

export function windowDeclaredView(w: MaintenanceWindow, nagHours: readonly number[]): SlackMessage {
  const first = nagHours[0];
  return message(`${w.declaredBy} declared a ${w.env} upgrade window at ${w.startsAt}`, [
    section(`:calendar: ${who(w.declaredBy)} declared a *${windowTitle(w)}* \`${w.id}\``),
    context(
      `I'll remind this channel${first ? ` from ${first}h before` : ""} until a pre-upgrade backup of ${w.env} is verified, and post the diff against live when the window ends. Cancel: /dbbackup upgrade cancel ${w.id}`,
    ),
  ]);
}

export function windowListView(windows: readonly MaintenanceWindow[], now: Date): SlackMessage {
  if (windows.length === 0)
    return message("No upgrade windows declared", [
      section("No upgrade windows are declared. Declare one: `/dbbackup upgrade prod 2026-12-01 02:00 UTC`"),
    ]);
  const lines = windows.map((w) => {
    const state = w.covered
      ? `:white_check_mark: covered by \`${w.covered.backupId}\``
      : new Date(w.startsAt).getTime() <= now.getTime()
        ? ":warning: running, no pre-upgrade backup"
        : ":hourglass: no pre-upgrade backup yet";
    return `\`${w.id}\` ${windowTitle(w)} · declared by ${who(w.declaredBy)} · ${state}`;
  });
  return message(`${windows.length} upgrade windows`, [section(lines.join("\n"))]);
}

export function windowCancelledView(w: MaintenanceWindow): SlackMessage {
  return message(`${w.env} upgrade window ${w.id} cancelled`, [
    section(
      `:wastebasket: ${who(w.cancelled?.by ?? "?")} cancelled the *${windowTitle(w)}* \`${w.id}\`; no more reminders for it.`,
    ),
  ]);
}
