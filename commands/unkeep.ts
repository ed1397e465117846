import { z } from "zod/v3";
import { type PinnedBackup, setPin } from "../src/backup/pins.js";
import type { Pin } from "../src/state/annotations.js";
import { audit } from "../src/state/audit.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { renderUnkeep } from "./views/terminal/render-retention.js";

export const unkeepArgs = z.object({ id: z.string().min(1).max(200) });
export type UnkeepArgs = z.input<typeof unkeepArgs>;

export interface UnkeepResult extends PinnedBackup {
  ok: true;
  /** The pin removed; absent when the backup was not pinned (nothing changed). */
  previous?: Pin;
}

/** Removes a backup's pin: retention's usual rules apply to it again. */
async function run(ctx: CommandContext, input: UnkeepArgs): Promise<UnkeepResult> {
  const args = unkeepArgs.parse(input);
  const { backup, previous, state } = await setPin(ctx.config, args.id, null);
  if (previous) {
    await audit(state, "unpinned", {
      id: backup.id,
      env: backup.env,
      by: ctx.requestedBy,
      via: ctx.via ?? "terminal",
    });
  }
  return { ok: true, ...backup, ...(previous ? { previous } : {}) };
}

export const verb = defineVerb({
  name: "unkeep",
  order: 41,
  writes: true,
  summary: "Unpin a backup: retention's usual rules apply to it again.",
  usage: { terminal: "dbbackup unkeep <ID>" },
  args: unkeepArgs,
  fromWords({ positionals }) {
    if (positionals.length !== 1 || !positionals[0])
      throw usage("unkeep takes one backup id: dbbackup unkeep 20261123_203000_staging_pre-upgrade");
    return { id: positionals[0] };
  },
  run,
  terminal: { render: (r, style) => renderUnkeep(r, style) },
});
