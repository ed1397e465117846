import { DbBackupError } from "../src/errors.js";
import { formatUtc } from "../src/format.js";
import type { UpgradeRequest } from "../src/guardrails/window-time.js";
import { audit } from "../src/state/audit.js";
import { stateFor } from "../src/state/open.js";
import { type MaintenanceWindow, WindowStore } from "../src/state/windows.js";
import type { CommandContext } from "./context.js";

export type UpgradeArgs = UpgradeRequest;

export type UpgradeResult =
  | { ok: true; action: "declare"; window: MaintenanceWindow }
  | { ok: true; action: "list"; windows: MaintenanceWindow[] }
  | { ok: true; action: "cancel"; window: MaintenanceWindow };

export interface UpgradeOptions {
  /** A window's length when the declaration gives none. */
  defaultLengthMs: number;
  now?: Date;
}

const YEAR = 366 * 86_400_000;

/** `upgrade ENV DATE TIME ZONE [LENGTH] [NOTE]`, `upgrade list`, `upgrade cancel ID`. */
export async function run(
  ctx: CommandContext,
  args: UpgradeArgs,
  options: UpgradeOptions,
): Promise<UpgradeResult> {
  const state = stateFor(ctx.config);
  const store = new WindowStore(state);
  const via = ctx.via ?? "terminal";
  const now = options.now ?? new Date();
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
    lengthMs: args.lengthMs ?? options.defaultLengthMs,
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
  return { ok: true, action: "declare", window };
}
