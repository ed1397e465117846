import { type PruneArgs, type PruneResult, pruneBackups } from "../src/backup/prune.js";
import type { CommandContext } from "./context.js";

export type { PruneArgs, PruneItem, PruneResult } from "../src/backup/prune.js";

export async function run(ctx: CommandContext, input: PruneArgs): Promise<PruneResult> {
  return pruneBackups({ ...ctx, via: ctx.via ?? "terminal" }, input);
}
