import { z } from "zod/v3";
import { type Listing, listBackups } from "../src/backup/catalog.js";
import { backupsElsewhere } from "../src/backup/shared-catalog.js";
import { type Config, envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, shown, usage } from "./kit/words.js";
import { offsiteListView } from "./views/slack/offsite-views.js";
import { listView } from "./views/slack/views.js";
import { renderList } from "./views/terminal/render.js";
import { renderOffsiteList } from "./views/terminal/render-offsite.js";

async function listInBucket(config: Config, env: string | undefined): Promise<OffsiteListResult> {
  const [{ offsiteFor }, { listOffsite }, { s3Client }] = await Promise.all([
    import("../src/offsite/copy.js"),
    import("../src/offsite/list.js"),
    import("../src/offsite/s3-client.js"),
  ]);
  const settings = offsiteFor(config, false);
  const listing = await listOffsite(s3Client(settings), settings, env);
  return {
    ok: true,
    offsite: settings.url,
    env: env ?? null,
    copies: listing.copies.map((c) => ({
      id: c.id,
      env: c.env,
      label: c.label,
      createdAt: c.createdAt,
      stage: c.stage,
      bytes: c.files.reduce((n, f) => n + f.bytes, 0),
      provenAt: c.provenAt,
      recipients: c.recipients.map((r) => r.hint),
    })),
    incomplete: listing.incomplete,
  };
}

export const listArgs = z.object({
  env: envNameSchema.optional(),
  /** What the bucket holds, from the bucket alone. */
  offsite: z.boolean().default(false),
});
export type ListArgs = z.input<typeof listArgs>;

export interface ListResult extends Listing {
  ok: true;
  root: string;
  env: string | null;
}

/** `list --offsite`: whole copies in the bucket, newest first, and folders of copies cut short. */
export interface OffsiteListResult {
  ok: true;
  offsite: string;
  env: string | null;
  copies: {
    id: string;
    env: string;
    label: string | null;
    createdAt: string;
    stage: string | null;
    bytes: number;
    provenAt: string;
    recipients: string[];
  }[];
  incomplete: string[];
}

export const verb = defineVerb({
  name: "list",
  order: 10,
  summary: "Backups, newest first per env, with their verification stage.",
  slackSummary: "backups, newest first, with how far each is verified",
  usage: {
    terminal: "dbbackup list [ENV] [--offsite] [--json]",
    slack: "/dbbackup list [env]",
    details: ["--offsite: what the bucket holds (DBBACKUP_OFFSITE_URL), even with no backups folder here."],
  },
  options: { offsite: {} },
  args: listArgs,
  fromWords({ positionals, envs, options }) {
    if (positionals.length > 1)
      throw usage(
        `list takes at most one environment, got ${positionals.length}: ${positionals.map(shown).join(" ")}.`,
      );
    const env = positionals[0];
    const offsite = options.offsite === true ? { offsite: true } : {};
    return env === undefined ? offsite : { env: knownEnv(env, envs), ...offsite };
  },
  async run(ctx, input): Promise<ListResult | OffsiteListResult> {
    const args = listArgs.parse(input);
    if (args.offsite) return listInBucket(ctx.config, args.env);
    const state = stateFor(ctx.config);
    const listing = await listBackups(ctx.config.backupsDir, state, args.env);
    // With a shared state database: the backups other hosts filed, with where they are.
    const here = new Set(listing.backups.map((b) => b.id));
    const elsewhere = await backupsElsewhere(state, here, args.env);
    const backups = [...listing.backups, ...elsewhere].sort((a, b) =>
      a.env === b.env ? b.id.localeCompare(a.id) : a.env.localeCompare(b.env),
    );
    return { ok: true, root: ctx.config.backupsDir, env: args.env ?? null, ...listing, backups };
  },
  terminal: {
    render: (r, style, now) => ("copies" in r ? renderOffsiteList(r, style, now) : renderList(r, style, now)),
  },
  slack: {
    mode: "answer",
    render: (r, now) => ("copies" in r ? offsiteListView(r, now) : listView(r, now)),
  },
});
