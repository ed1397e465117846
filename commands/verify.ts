import { z } from "zod/v3";
import { locateBackup } from "../src/backup/locate.js";
import { ManifestError, readManifest, type StageResult, writeManifest } from "../src/backup/manifest.js";
import { findPgTools } from "../src/backup/pgtools.js";
import { verifyDumped, verifyReadable } from "../src/backup/verify.js";
import { DbBackupError } from "../src/errors.js";
import type { CommandContext } from "./context.js";

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
}

/** Re-runs stages 1 and 2 on a backup already on disk: files unchanged, archive readable, TOC as recorded. */
export async function run(ctx: CommandContext, input: VerifyArgs): Promise<VerifyResult> {
  const args = verifyArgs.parse(input);
  const dir = await locateBackup(ctx.config.backupsDir, args.ref, ctx.cwd ?? process.cwd());
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
  // A pg_restore at least as new as the pg_dump that wrote the archive.
  const tools = await findPgTools(manifest.client.major, manifest.client.version, ctx.config.pgBinDir);
  const [stage1, stage2] = await Promise.all([
    verifyDumped(
      dir,
      manifest.files.map((f) => f.name),
      manifest.files,
    ),
    verifyReadable(dir, tools.pgRestore, manifest.catalog.counts, { signal: ctx.signal }),
  ]);
  const stages = [stage1.result, stage2.result];
  const ok = stages.every((s) => s.ok);
  manifest.verification.lastVerify = { at: new Date().toISOString(), ok, by: ctx.requestedBy };
  await writeManifest(dir, manifest);
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
    ...(firstBad ? { problem: firstBad } : {}),
  };
}
