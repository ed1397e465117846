import os from "node:os";
import { z } from "zod/v3";
import { annotateBackup } from "../src/backup/annotate-backup.js";
import { locateBackup, recordableId } from "../src/backup/locate.js";
import { ManifestError, readManifest, type StageResult } from "../src/backup/manifest.js";
import { markInUse } from "../src/backup/restore-lock.js";
import { DbBackupError } from "../src/errors.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb } from "./kit/verb.js";
import { usage } from "./kit/words.js";
import { renderVerify } from "./views/terminal/render.js";

export const verifyArgs = z.object({ ref: z.string().min(1).max(4096) });
export type VerifyArgs = z.input<typeof verifyArgs>;

export interface VerifyResult {
  ok: boolean;
  id: string;
  dir: string;
  env: string;
  label: string | null;
  stages: StageResult[];
  /** The first failing check, in words, when !ok. */
  problem?: string;
  /** False for a folder outside the backups folder (a copy): checked, but nothing recorded for the id. */
  recorded: boolean;
}

/**
 * Re-runs stages 1 and 2 on a backup already on disk: files unchanged, archive readable, TOC as
 * recorded. The result is recorded in the state for a backup of the backups folder; nothing is ever
 * written into the folder itself.
 */
export async function verifyBackup(ctx: CommandContext, input: VerifyArgs): Promise<VerifyResult> {
  const args = verifyArgs.parse(input);
  const root = ctx.config.backupsDir;
  const state = stateFor(ctx.config);
  const located = await locateBackup(root, state, args.ref, ctx.cwd ?? process.cwd());
  const { dir } = located;
  let manifest: Awaited<ReturnType<typeof readManifest>>;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    const reason =
      error instanceof ManifestError ? error.message : `${dir}/manifest.json is missing or unreadable`;
    throw new DbBackupError(
      "bad_manifest",
      reason,
      "This folder is not a complete dbbackup backup; don't restore from it.",
    );
  }
  const recordAs = recordableId(located, manifest.id);
  const reading = recordAs ? await markInUse(state, root, recordAs, ctx.requestedBy) : undefined;
  try {
    // A pg_restore at least as new as the pg_dump that wrote the archive.
    // pg_restore's engine (execa) loads only when a verify runs, not with every command.
    const [{ findPgTools }, { inOrder, verifyDumped, verifyReadable }] = await Promise.all([
      import("../src/backup/pgtools.js"),
      import("../src/backup/verify.js"),
    ]);
    const tools = await findPgTools(manifest.client.major, manifest.client.version, ctx.config.pgBinDir);
    const rowsByTable = new Map(manifest.catalog.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
    const [stage1, stage2] = await Promise.all([
      verifyDumped(
        dir,
        manifest.files.map((f) => f.name),
        manifest.files,
      ),
      verifyReadable(dir, tools.pgRestore, manifest.catalog.counts, {
        signal: ctx.signal,
        owner: state,
        // One reader per core, the tables shared out by their row counts at backup time.
        parts: os.availableParallelism(),
        weight: (table) => rowsByTable.get(table) ?? 0,
      }),
    ]);
    const stages = inOrder([stage1.result, stage2.result]);
    const ok = stages.every((s) => s.ok);
    if (recordAs && !ctx.signal?.aborted) {
      await annotateBackup(state, root, recordAs, "while it was verified", (current) => ({
        next: { ...current, lastVerify: { at: new Date().toISOString(), ok, by: ctx.requestedBy } },
        result: undefined,
      }));
    }
    const firstBad = stages.flatMap((s) =>
      s.checks.filter((c) => !c.ok).map((c) => `stage ${s.stage}: ${c.name} ${c.detail}`),
    )[0];
    return {
      ok,
      id: manifest.id,
      dir,
      env: manifest.env,
      label: manifest.label,
      stages,
      recorded: recordAs !== undefined,
      ...(firstBad ? { problem: firstBad } : {}),
    };
  } finally {
    await reading?.release();
  }
}

export const verb = defineVerb({
  name: "verify",
  order: 20,
  writes: true,
  summary: "Re-check a backup: files unchanged (sha256), archive readable.",
  usage: { terminal: "dbbackup verify <ID|PATH> [--json]" },
  args: verifyArgs,
  fromWords({ positionals }) {
    if (positionals.length !== 1 || !positionals[0])
      throw usage(
        "verify takes one backup id or folder: dbbackup verify 20261123_203000_staging_pre-upgrade",
      );
    return { ref: positionals[0] };
  },
  run: verifyBackup,
  terminal: { render: (r, style) => renderVerify(r, style), exitCode: (r) => (r.ok ? 0 : 1) },
});
