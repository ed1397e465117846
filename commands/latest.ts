import { z } from "zod/v3";
import { newestVerified } from "../src/backup/locate.js";
import { envNameSchema } from "../src/config.js";
import { formatUtc } from "../src/format.js";
import { stateFor } from "../src/state/open.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, usage } from "./kit/words.js";
import { context, message, section } from "./views/slack/blocks.js";

export interface LatestResult {
  ok: true;
  env: string;
  id: string;
  dir: string;
  stage: string | null;
  finishedAt: string;
}

/** `latest ENV`: the newest verified backup of an env, for scripts (`backups/$(dbbackup latest prod)`). */
export const verb = defineVerb({
  name: "latest",
  order: 11,
  summary: "The id of ENV's newest verified backup (for scripts).",
  slackSummary: "the newest verified backup of an env",
  usage: { terminal: "dbbackup latest ENV [--json]", slack: "/dbbackup latest <env>" },
  args: z.object({ env: envNameSchema }),
  fromWords({ positionals, envs }) {
    const [env, ...extra] = positionals;
    if (!env || extra.length > 0) throw usage("latest takes one environment: dbbackup latest prod");
    return { env: knownEnv(env, envs) };
  },
  async run(ctx, { env }): Promise<LatestResult> {
    const newest = await newestVerified(ctx.config.backupsDir, stateFor(ctx.config), env);
    return {
      ok: true,
      env,
      id: newest.id,
      dir: newest.dir,
      stage: newest.stage,
      finishedAt: newest.finishedAt,
    };
  },
  terminal: { render: (r) => `${r.id}\n` },
  slack: {
    mode: "answer",
    inAck: true,
    render: (r) =>
      message(`${r.env}: ${r.id}`, [
        section(`Newest verified *${r.env}* backup: \`${r.id}\``),
        context(`stage ${r.stage ?? "none"}, finished ${formatUtc(r.finishedAt)}`),
      ]),
  },
});
