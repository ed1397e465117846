import { z } from "zod/v3";
import { type Listing, listBackups } from "../src/backup/catalog.js";
import { envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./context.js";

export const listArgs = z.object({
  env: envNameSchema.optional(),
});
export type ListArgs = z.input<typeof listArgs>;

export interface ListResult extends Listing {
  ok: true;
  root: string;
  env: string | null;
}

export async function run(ctx: CommandContext, input: ListArgs): Promise<ListResult> {
  const args = listArgs.parse(input);
  const listing = await listBackups(ctx.config.backupsDir, stateFor(ctx.config), args.env);
  return { ok: true, root: ctx.config.backupsDir, env: args.env ?? null, ...listing };
}
