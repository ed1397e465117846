import { type DiffArgs, type DiffResult, diffBackups } from "../src/backup/diff.js";
import type { CommandContext } from "./context.js";

export type { DiffArgs, DiffResult } from "../src/backup/diff.js";

/** The runbook's post-upgrade sanity: version, extensions, view reloptions, policies per table. */
export async function run(ctx: CommandContext, input: DiffArgs): Promise<DiffResult> {
  return diffBackups(ctx, input);
}
