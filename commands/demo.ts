import { z } from "zod/v3";
import type { BackupResult } from "./backup.js";
import { backupResult } from "./backup.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb } from "./kit/verb.js";
import { shown, usage } from "./kit/words.js";
import type { RestoreTestResult } from "./restore-test.js";
import { renderBackup } from "./views/terminal/render.js";
import { renderRestoreTest } from "./views/terminal/render-restore.js";

export const demoArgs = z.undefined();
export type DemoArgs = z.input<typeof demoArgs>;

export interface DemoResult {
  ok: boolean;
  backup: BackupResult;
  restore: RestoreTestResult;
}

async function run(ctx: CommandContext, input: DemoArgs): Promise<DemoResult> {
  demoArgs.parse(input);
  const [{ runDemo }, { summarize }] = await Promise.all([
    import("../src/demo/run-demo.js"),
    import("../src/restore/restore-test.js"),
  ]);
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
      compared: r.compared,
      recorded: r.recorded,
    },
  };
}

export const verb = defineVerb({
  name: "demo",
  order: 60,
  needsNoConfig: true,
  summary: "The whole thing on a throwaway Postgres, no setup needed.",
  usage: { terminal: "dbbackup demo" },
  args: demoArgs,
  fromWords({ positionals }) {
    if (positionals.length > 0)
      throw usage(`demo takes no arguments, got ${positionals.map(shown).join(" ")}.`);
    return undefined;
  },
  run,
  terminal: {
    render: (r, style) => `${renderBackup(r.backup, style)}\n${renderRestoreTest(r.restore, style)}`,
    exitCode: (r) => (r.ok ? 0 : 1),
  },
});
