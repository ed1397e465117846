import { z } from "zod/v3";
import { isBackupId, parseBackupId } from "../src/backup/ids.js";
import { formatBytes } from "../src/format.js";
import type { OffsiteCopy } from "../src/offsite/copy.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { offsiteDoneView, offsiteFailedView, offsiteStartedView } from "./views/slack/offsite-views.js";

export type OffsiteResult = { ok: true } & OffsiteCopy;

const offsiteArgs = z.object({ id: z.string().refine(isBackupId, "not a backup id") });

/** `offsite <ID>`: copy one backup off-site now (after an outage, or one taken before off-site was set up). */
export const verb = defineVerb({
  name: "offsite",
  order: 25,
  writes: true,
  summary: "Copy a backup off-site now: encrypted, uploaded, proven equal.",
  slackSummary: "copy a backup off-site now (encrypted)",
  usage: {
    terminal: "dbbackup offsite <ID> [--json]",
    slack: "/dbbackup offsite <id>",
    details: [
      "Needs DBBACKUP_OFFSITE_URL and DBBACKUP_AGE_RECIPIENTS; a copy already proven is not sent again.",
    ],
  },
  args: offsiteArgs,
  fromWords({ positionals }) {
    const [id, ...extra] = positionals;
    if (!id || extra.length > 0 || !isBackupId(id))
      throw usage(
        "offsite takes one backup id: dbbackup offsite 20261123_203000_prod_pre-upgrade",
        "`dbbackup list` shows the ids.",
      );
    return { id };
  },
  async run(ctx, { id }): Promise<OffsiteResult> {
    const { copyOffsite } = await import("../src/offsite/copy.js");
    return {
      ok: true,
      ...(await copyOffsite(ctx.config, id, { requestedBy: ctx.requestedBy, signal: ctx.signal })),
    };
  },
  terminal: {
    render: (r, s) =>
      r.already
        ? `${s.ok("✔")} ${r.id} is off-site already: ${r.location} (proven ${r.provenAt})\n`
        : `${s.ok("✔")} ${r.id} copied off-site: ${r.location}\n  ${r.files} files, ${formatBytes(r.bytes)} encrypted to ${r.recipients.join(", ")}, ${r.proof === "etag" ? "proven by the store's checksums" : "proven by reading them back"}\n`,
  },
  slack: {
    mode: "job",
    render: (r) => offsiteDoneView(r),
    job: {
      auditAs: "offsite",
      title: (args) => `off-site copy of ${args.id}`,
      env: (args) => parseBackupId(args.id)?.env ?? "staging",
      label: () => "offsite",
      started: (args, by) => offsiteStartedView(args.id, by),
      failed: (args, by, problem, hint, code) => offsiteFailedView(args.id, by, problem, hint, code),
      doneText: (r) => `${r.id} is off-site: ${r.location}.`,
    },
  },
});
