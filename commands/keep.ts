import { z } from "zod/v3";
import { type PinnedBackup, setPin } from "../src/backup/pins.js";
import type { Pin } from "../src/state/annotations.js";
import { audit } from "../src/state/audit.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { escapeMrkdwn } from "./views/slack/blocks.js";
import { renderKeep } from "./views/terminal/render-retention.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export const keepArgs = z.object({
  id: z.string().min(1).max(200),
  reason: z
    .string()
    .max(200, "a reason is at most 200 characters")
    .refine((r) => !CONTROL.test(r), "a reason is one line of text (no newlines or control characters)")
    .optional(),
});
export type KeepArgs = z.input<typeof keepArgs>;

export interface KeepResult extends PinnedBackup {
  ok: true;
  pin: Pin;
  /** The pin it replaced, when it was pinned already. */
  previous?: Pin;
}

/** Pins a backup: prune never deletes it. Recorded in the state (who, when, why) and audited. */
async function run(ctx: CommandContext, input: KeepArgs): Promise<KeepResult> {
  const args = keepArgs.parse(input);
  const pin: Pin = { reason: args.reason?.trim() ?? "", by: ctx.requestedBy, at: new Date().toISOString() };
  const { backup, previous, state } = await setPin(ctx.config, args.id, pin);
  await audit(state, "pinned", {
    id: backup.id,
    env: backup.env,
    reason: pin.reason,
    by: ctx.requestedBy,
    via: ctx.via ?? "terminal",
  });
  return { ok: true, ...backup, pin, ...(previous ? { previous } : {}) };
}

const ID_EXAMPLE = "20261123_203000_staging_pre-upgrade";

export const verb = defineVerb({
  name: "keep",
  order: 40,
  writes: true,
  summary: "Pin a backup: prune never deletes it. dbbackup unkeep <ID> unpins it.",
  slackSummary: "pin a backup so retention never deletes it",
  usage: { terminal: "dbbackup keep <ID> [--reason TEXT]", slack: "/dbbackup keep <id> [reason]" },
  options: { reason: { value: "TEXT" } },
  args: keepArgs,
  fromWords({ positionals, options }) {
    if (positionals.length !== 1 || !positionals[0])
      throw usage(`keep takes one backup id: dbbackup keep ${ID_EXAMPLE} --reason "before tenant split"`);
    const reason = options.reason;
    return typeof reason === "string" ? { id: positionals[0], reason } : { id: positionals[0] };
  },
  run,
  terminal: { render: (r, style) => renderKeep(r, style) },
  slack: {
    mode: "answer",
    inAck: true,
    inChannel: () => true,
    // `/dbbackup keep <id> before the tenant split`: the words after the id are the reason.
    fromWords({ positionals }) {
      const [id, ...reason] = positionals;
      if (!id) throw usage(`keep takes one backup id: /dbbackup keep ${ID_EXAMPLE} [reason]`);
      return reason.length > 0 ? { id, reason: reason.join(" ").slice(0, 200) } : { id };
    },
    render: (r) => ({
      text: `:pushpin: ${r.id} is pinned${r.pin.reason ? `: ${escapeMrkdwn(r.pin.reason)}` : ""}. prune will never delete it.`,
      blocks: [],
    }),
  },
});
