import { z } from "zod/v3";
import { isBackupId } from "../src/backup/ids.js";
import { formatBytes } from "../src/format.js";
import { defineVerb } from "./kit/verb.js";
import { optionValue, usage } from "./kit/words.js";
import { type VerifyResult, verifyBackup } from "./verify.js";
import { renderVerify } from "./views/terminal/render.js";

export interface PullResult {
  ok: boolean;
  id: string;
  dir: string;
  from: string;
  /** Encrypted bytes fetched. */
  bytes: number;
  /** Stages 1 and 2 run again on what was fetched. */
  verify: VerifyResult;
}

const pullArgs = z.object({
  id: z.string().refine(isBackupId, "not a backup id"),
  identity: z.string().min(1).max(4096).optional(),
});

/** `pull <ID>`: a backup back from its off-site copy (a new host, a lost volume), then re-verified. */
export const verb = defineVerb({
  name: "pull",
  order: 26,
  writes: true,
  summary: "Fetch a backup from its off-site copy, decrypt it into the backups folder, re-verify it.",
  usage: {
    terminal: "dbbackup pull <ID> [--identity KEYFILE] [--json]",
    details: ["KEYFILE: the age identity the copies are encrypted to (or DBBACKUP_AGE_IDENTITY_FILE)."],
  },
  options: { identity: { value: "KEYFILE" } },
  args: pullArgs,
  fromWords(words) {
    const [id, ...extra] = words.positionals;
    if (!id || extra.length > 0 || !isBackupId(id))
      throw usage(
        "pull takes one backup id: dbbackup pull 20261123_203000_prod_pre-upgrade --identity key.txt",
        "`dbbackup list --offsite` shows what the bucket holds.",
      );
    const identity = optionValue(words, "identity");
    return identity === undefined ? { id } : { id, identity };
  },
  async run(ctx, args): Promise<PullResult> {
    const { pullOffsite } = await import("../src/offsite/pull.js");
    const pulled = await pullOffsite(ctx.config, args.id, {
      identityFile: args.identity,
      signal: ctx.signal,
    });
    const verify = await verifyBackup(ctx, { ref: pulled.id });
    return {
      ok: verify.ok,
      id: pulled.id,
      dir: pulled.dir,
      from: ctx.config.offsite?.url ?? "",
      bytes: pulled.bytes,
      verify,
    };
  },
  terminal: {
    render: (r, s) =>
      `${s.ok("✔")} ${r.id} fetched from ${r.from} (${formatBytes(r.bytes)} encrypted) into ${r.dir}\n${renderVerify(r.verify, s)}`,
    exitCode: (r) => (r.ok ? 0 : 1),
  },
});
