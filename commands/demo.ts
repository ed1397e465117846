import { z } from "zod/v3";
import { type DemoOptions, runDemo } from "../src/demo/run-demo.js";
import { summarize } from "../src/restore/restore-test.js";
import type { BackupResult } from "./backup.js";
import { backupResult } from "./backup.js";
import type { CommandContext } from "./context.js";
import type { RestoreTestResult } from "./restore-test.js";

export const demoArgs = z.object({});
export type DemoArgs = z.input<typeof demoArgs>;

export interface DemoResult {
  ok: boolean;
  backup: BackupResult;
  restore: RestoreTestResult;
}

export async function run(
  ctx: Pick<CommandContext, "signal" | "onEvent"> & Pick<DemoOptions, "onRestoreEvent" | "onNote">,
  input: DemoArgs,
): Promise<DemoResult> {
  demoArgs.parse(input);
  const outcome = await runDemo({
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.onEvent ? { onBackupEvent: ctx.onEvent } : {}),
    ...(ctx.onRestoreEvent ? { onRestoreEvent: ctx.onRestoreEvent } : {}),
    ...(ctx.onNote ? { onNote: ctx.onNote } : {}),
  });
  const r = outcome.restore;
  return {
    ok: r.ok,
    // The demo's folder is gone by now; no restore hint pointing at it.
    backup: backupResult(outcome.manifest, outcome.backupDir, false, process.cwd()),
    restore: {
      ok: r.ok,
      id: r.id,
      dir: r.dir,
      env: r.env,
      serverMajor: r.serverMajor,
      durationMs: r.ms,
      summary: summarize(r.parity),
      parity: r.parity,
      recorded: r.recorded,
    },
  };
}
