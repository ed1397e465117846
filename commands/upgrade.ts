import { z } from "zod/v3";
import { envNameSchema, readSettings } from "../src/config.js";
import { DbBackupError } from "../src/errors.js";
import { formatUtc } from "../src/format.js";
import { parseUpgradeWords, type UpgradeRequest } from "../src/guardrails/window-time.js";
import { audit } from "../src/state/audit.js";
import { stateFor } from "../src/state/open.js";
import { type MaintenanceWindow, WindowStore } from "../src/state/windows.js";
import type { CommandContext } from "./kit/context.js";
import { guardrailSettings } from "./kit/guardrail-settings.js";
import { defineVerb } from "./kit/verb.js";
import { windowCancelledView, windowDeclaredView, windowListView } from "./views/slack/window-views.js";
import { renderUpgrade } from "./views/terminal/render-guardrails.js";

export type UpgradeArgs = UpgradeRequest;

export type UpgradeResult =
  | {
      ok: true;
      action: "declare";
      window: MaintenanceWindow;
      nagHours: readonly number[];
      /** From a terminal: whether the channel was told at once ("announced in C…", or why not). */
      announced?: string;
    }
  | { ok: true; action: "list"; windows: MaintenanceWindow[] }
  | { ok: true; action: "cancel"; window: MaintenanceWindow };

const YEAR = 366 * 86_400_000;

const upgradeArgs: z.ZodType<UpgradeArgs> = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("declare"),
    env: envNameSchema,
    startsAt: z.string().datetime(),
    lengthMs: z.number().int().positive().nullable(),
    note: z.string().max(300).nullable(),
  }),
  z.object({ action: z.literal("list") }),
  z.object({ action: z.literal("cancel"), id: z.string().min(1).max(40) }),
]);

/** `upgrade ENV DATE TIME ZONE [LENGTH] [NOTE]`, `upgrade list`, `upgrade cancel ID`. */
async function run(ctx: CommandContext, args: UpgradeArgs): Promise<UpgradeResult> {
  const state = stateFor(ctx.config);
  const store = new WindowStore(state);
  const via = ctx.via ?? "terminal";
  const now = ctx.now?.() ?? new Date();
  const settings = await guardrailSettings(ctx);
  if (args.action === "list") {
    const windows = (await store.open()).sort((a, b) => a.startsAt.localeCompare(b.startsAt));
    return { ok: true, action: "list", windows };
  }
  if (args.action === "cancel") {
    const mine = { by: ctx.requestedBy, at: now.toISOString() };
    let before: MaintenanceWindow["cancelled"] = null;
    // Checked and changed in one step: of two cancels at once, one cancels and the other is told.
    const window = await store.change(args.id, (w) => {
      before = w.cancelled;
      return w.cancelled ? w : { ...w, cancelled: mine };
    });
    if (!window)
      throw new DbBackupError(
        "not_found",
        `There is no upgrade window ${args.id}.`,
        "See the windows with: upgrade list",
      );
    const earlier = before as MaintenanceWindow["cancelled"];
    if (earlier)
      throw new DbBackupError(
        "usage",
        `Window ${args.id} was already cancelled by ${earlier.by}.`,
        "See the open windows with: upgrade list",
      );
    await audit(state, "window-cancelled", { window: args.id, env: window.env, by: ctx.requestedBy, via });
    return { ok: true, action: "cancel", window };
  }
  const start = new Date(args.startsAt).getTime();
  if (start <= now.getTime())
    throw new DbBackupError(
      "usage",
      `${formatUtc(args.startsAt)} is already past.`,
      "Declare a window that starts in the future (the time zone is part of the time).",
    );
  if (start > now.getTime() + YEAR)
    throw new DbBackupError("usage", "That window is more than a year away.", "Declare it nearer the time.");
  if (!ctx.config.environments.has(args.env))
    throw new DbBackupError(
      "no_url",
      `There is no ${args.env} database configured, so no backup could cover that window.`,
      `Set DATABASE_URL_${args.env.toUpperCase().replace(/-/g, "_")} first.`,
    );
  const window = await store.declare({
    env: args.env,
    startsAt: args.startsAt,
    lengthMs: args.lengthMs ?? settings.windowLengthMs,
    note: args.note,
    declaredBy: ctx.requestedBy,
    now,
  });
  await audit(state, "window-declared", {
    window: window.id,
    env: window.env,
    startsAt: window.startsAt,
    by: ctx.requestedBy,
    via,
    note: window.note,
  });
  const announced = via === "slack" ? undefined : await announce(window, settings.nagHours);
  return {
    ok: true,
    action: "declare",
    window,
    nagHours: settings.nagHours,
    ...(announced ? { announced } : {}),
  };
}

/**
 * A window declared from a terminal is announced in the channel at once, as one declared in Slack
 * is, when the bot's Slack settings are here. The window stands whether or not Slack took it.
 */
async function announce(window: MaintenanceWindow, nagHours: readonly number[]): Promise<string> {
  const { loadSlackPostingSettings, webClientOptions } = await import("./kit/slack-settings.js");
  const slack = loadSlackPostingSettings(readSettings());
  if (!slack) return "not announced: SLACK_BOT_TOKEN or DBBACKUP_CHANNEL is not set";
  const { webApi } = await import("@slack/bolt");
  const client = new webApi.WebClient(slack.botToken, webClientOptions(slack.apiUrl));
  try {
    await client.chat.postMessage({ channel: slack.channel, ...windowDeclaredView(window, nagHours) });
    return `announced in ${slack.channel}`;
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error ?? String(error);
    return `not announced in ${slack.channel} (${code}); the bot's first reminder will still come`;
  }
}

export const verb = defineVerb({
  name: "upgrade",
  order: 80,
  summary:
    "Declare a maintenance window: nags ahead of it until a pre-upgrade backup is verified, a diff after.",
  slackSummary:
    "declare a maintenance window: reminders until a pre-upgrade backup exists, a diff after · `/dbbackup upgrade list` · `/dbbackup upgrade cancel <id>`",
  usage: {
    terminal: "dbbackup upgrade ENV DATE TIME ZONE [LENGTH] [NOTE]",
    slack: "/dbbackup upgrade prod 2026-12-01 02:00 UTC [2h] [note]",
    details: [
      'Declare a maintenance window, e.g. upgrade prod 2026-12-01 02:00 UTC 2h "15.8 patch": nags',
      "ahead of it until a pre-upgrade backup is verified, and a diff against live after it.",
      "dbbackup upgrade list | upgrade cancel <WINDOW-ID>",
    ],
  },
  args: upgradeArgs,
  fromWords: ({ positionals, envs }) => parseUpgradeWords(positionals, envs),
  run,
  terminal: { render: (r, style) => renderUpgrade(r, style) },
  slack: {
    mode: "answer",
    inAck: true,
    inChannel: (r) => r.action !== "list",
    render(r, now) {
      if (r.action === "list") return windowListView(r.windows, now);
      return r.action === "declare"
        ? windowDeclaredView(r.window, r.nagHours)
        : windowCancelledView(r.window);
    },
    // A window declared less than 48 h ahead gets its first reminder now, not at the next tick.
    after(r, bot) {
      if (r.action === "declare") bot.runGuardrailJob("windows");
    },
  },
});
