import { z } from "zod/v3";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";

export interface CancelResult {
  ok: true;
  said: string;
}

export const verb = defineVerb({
  name: "cancel",
  order: 14,
  summary: "Stop a running backup (the requester or an approver).",
  usage: { slack: "/dbbackup cancel [id]" },
  args: z.object({ id: z.string().min(1).max(40).optional() }),
  fromWords({ positionals }) {
    if (positionals.length > 1) throw usage("cancel takes at most one id.", "Try /dbbackup status.");
    return positionals[0] === undefined ? {} : { id: positionals[0] };
  },
  async run(ctx, args): Promise<CancelResult> {
    if (!ctx.jobs)
      throw usage(
        "cancel stops what the bot runs, so it is asked in Slack: /dbbackup cancel [id].",
        "At a terminal, Ctrl-C stops a run of your own.",
      );
    return { ok: true, said: await ctx.jobs.cancel(ctx.requestedBy, args.id) };
  },
  terminal: { render: (r) => `${r.said}\n` },
  slack: { mode: "answer", inAck: true, render: (r) => ({ text: r.said, blocks: [] }) },
});
