import { z } from "zod/v3";
import { slackHelp, terminalHelp, type VerbHelp, verbHelp } from "./kit/help.js";
import { loadVerbs } from "./kit/registry.js";
import { defineVerb } from "./kit/verb.js";

export interface HelpResult {
  ok: true;
  /** The terminal's help text. */
  help: string;
  verbs: VerbHelp[];
}

export const verb = defineVerb({
  name: "help",
  order: 1000,
  needsNoConfig: true,
  summary: "This text.",
  slackSummary: "this",
  usage: { terminal: "dbbackup help", slack: "/dbbackup help" },
  args: z.undefined(),
  fromWords: () => undefined,
  async run(): Promise<HelpResult> {
    const verbs = verbHelp(await loadVerbs());
    return { ok: true, help: terminalHelp(verbs), verbs };
  },
  terminal: { render: (r) => r.help },
  slack: { mode: "answer", inAck: true, render: (r) => slackHelp(r.verbs) },
});
