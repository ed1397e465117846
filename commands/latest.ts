import { z } from "zod/v3";
import { listBackups } from "../src/backup/catalog.js";
import { envNameSchema } from "../src/config.js";
import { DbBackupError } from "../src/errors.js";
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
    const { backups } = await listBackups(ctx.config.backupsDir, stateFor(ctx.config), env);
    const newest = backups
      .filter((b) => b.stage === "readable" || b.stage === "restored")
      .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
    if (!newest)
      throw new DbBackupError(
        "not_found",
        `No ${env} backup has passed verification yet.`,
        `Take one first: dbbackup ${env} pre-upgrade`,
      );
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
        context(`stage ${r.stage ?? "none"}, finished ${r.finishedAt.slice(0, 16).replace("T", " ")} UTC`),
      ]),
  },
});
