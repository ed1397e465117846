import { z } from "zod/v3";
import { envNameSchema } from "../src/config.js";
import type { ParityRow } from "../src/restore/parity.js";
import { type RestoreEvent, runRestoreTest, summarize } from "../src/restore/restore-test.js";
import type { CommandContext } from "./context.js";

export const restoreTestArgs = z.object({
  /** A backup id, a backup folder, or "latest". */
  ref: z.string().min(1),
  env: envNameSchema.optional(),
  keepServer: z.boolean().default(false),
});
export type RestoreTestArgs = z.input<typeof restoreTestArgs>;

export interface RestoreTestResult {
  ok: boolean;
  id: string;
  dir: string;
  env: string;
  serverMajor: number;
  durationMs: number;
  summary: string;
  parity: ParityRow[];
  /** False for a folder outside the backups folder (a copy): tested, but not recorded for the id. */
  recorded: boolean;
  /** With --keep-server: where the restored copy can be inspected until the command is stopped. */
  serverUrl?: string;
}

export interface RestoreTestRun {
  result: RestoreTestResult;
  /** Stops the scratch server kept with --keep-server; a no-op otherwise. */
  stopServer(): Promise<void>;
}

export async function run(
  ctx: CommandContext & { onRestoreEvent?: (event: RestoreEvent) => void },
  input: RestoreTestArgs,
): Promise<RestoreTestRun> {
  const args = restoreTestArgs.parse(input);
  const outcome = await runRestoreTest({
    config: ctx.config,
    ref: args.ref,
    env: args.env,
    requestedBy: ctx.requestedBy,
    cwd: ctx.cwd ?? process.cwd(),
    keepServer: args.keepServer,
    signal: ctx.signal,
    ...(ctx.onRestoreEvent ? { onEvent: ctx.onRestoreEvent } : {}),
  });
  const server = outcome.server;
  return {
    result: {
      ok: outcome.ok,
      id: outcome.id,
      dir: outcome.dir,
      env: outcome.env,
      serverMajor: outcome.serverMajor,
      durationMs: outcome.ms,
      summary: summarize(outcome.parity),
      parity: outcome.parity,
      recorded: outcome.recorded,
      ...(server ? { serverUrl: server.url("restore_test") } : {}),
    },
    stopServer: async () => {
      await server?.stop();
    },
  };
}
