import { z } from "zod/v3";
import { type Listing, listBackups } from "../src/backup/catalog.js";
import { envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, shown, usage } from "./kit/words.js";
import { listView } from "./views/slack/views.js";
import { renderList } from "./views/terminal/render.js";

export const listArgs = z.object({
  env: envNameSchema.optional(),
});
export type ListArgs = z.input<typeof listArgs>;

export interface ListResult extends Listing {
  ok: true;
  root: string;
  env: string | null;
}

export const verb = defineVerb({
  name: "list",
  order: 10,
  summary: "Backups, newest first per env, with their verification stage.",
  slackSummary: "backups, newest first, with how far each is verified",
  usage: { terminal: "dbbackup list [ENV] [--json]", slack: "/dbbackup list [env]" },
  args: listArgs,
  fromWords({ positionals, envs }) {
    if (positionals.length > 1)
      throw usage(
        `list takes at most one environment, got ${positionals.length}: ${positionals.map(shown).join(" ")}.`,
      );
    const env = positionals[0];
    return env === undefined ? {} : { env: knownEnv(env, envs) };
  },
  async run(ctx, input): Promise<ListResult> {
    const args = listArgs.parse(input);
    const listing = await listBackups(ctx.config.backupsDir, stateFor(ctx.config), args.env);
    return { ok: true, root: ctx.config.backupsDir, env: args.env ?? null, ...listing };
  },
  terminal: { render: (r, style, now) => renderList(r, style, now) },
  slack: { mode: "answer", render: (r, now) => listView(r, now) },
});
