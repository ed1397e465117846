import { type DiffResult, diffArgs, diffBackups } from "../src/backup/diff.js";
import { isBackupId } from "../src/backup/ids.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { diffView } from "./views/slack/diff-views.js";
import { renderDiff } from "./views/terminal/render-diff.js";

export type { DiffArgs, DiffResult } from "../src/backup/diff.js";

export const verb = defineVerb({
  name: "diff",
  order: 65,
  summary: "Post-upgrade sanity: server version, extensions, view reloptions, RLS policies.",
  slackSummary: "version, extensions, view reloptions, policies: the post-upgrade sanity check",
  usage: {
    terminal: "dbbackup diff <ID> [<ID>|live] [--json]",
    slack: "/dbbackup diff <id> [<id>|live]",
    details: [
      "Post-upgrade sanity: server version, extensions, view reloptions (security_invoker lost is",
      "flagged), RLS policies per table, between two backups or a backup and its live database.",
    ],
  },
  args: diffArgs,
  fromWords({ positionals }) {
    const [from, to, ...extra] = positionals;
    if (!from || extra.length > 0)
      throw usage("diff takes a backup and another backup or live: dbbackup diff <ID> [<ID>|live]");
    return to === undefined ? { from } : { from, to };
  },
  run: (ctx, args): Promise<DiffResult> => diffBackups(ctx, args),
  terminal: { render: (r, style) => renderDiff(r, style) },
  slack: {
    mode: "answer",
    check(args) {
      // From Slack only ids (and live): a path would name a folder anywhere on the bot's host.
      const bad = [args.from, args.to].find((r) => r !== "live" && !isBackupId(r));
      if (bad !== undefined || args.from === "live")
        throw usage(
          `"${(bad ?? "live").slice(0, 60)}" is not a backup id${args.from === "live" ? " (live goes second)" : ""}.`,
          "Use ids from /dbbackup list: /dbbackup diff <id> [<id>|live]",
        );
    },
    render: (r) => diffView(r),
  },
});
