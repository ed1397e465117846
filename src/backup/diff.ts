import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod/v3";
import type { Config } from "../config.js";
import { shortVersion } from "../format.js";
import { parsePgArray, parseTsv } from "../restore/parity.js";
import { stateFor } from "../state/open.js";
import { EXTENSIONS_FILE, VERSION_FILE, VIEWS_FILE } from "./companions.js";
import { locateBackup } from "./locate.js";
import { readManifest } from "./manifest.js";
import { type DatabaseState, diffStates, type StateDiff } from "./state-diff.js";
import { resolveTarget } from "./target.js";

export const diffArgs = z.object({
  from: z.string().min(1),
  /** Another backup, or "live" (the database of the first backup's env). Default: live. */
  to: z.string().min(1).default("live"),
});
export type DiffArgs = z.input<typeof diffArgs>;
export type DiffResult = StateDiff & { ok: true; securityInvokerLost: number };

/** What a diff reads with: the settings, and where a folder path given as a ref is relative to. */
interface DiffContext {
  config: Config;
  cwd?: string | undefined;
}

async function backupState(ctx: DiffContext, ref: string): Promise<DatabaseState & { env: string }> {
  const { dir } = await locateBackup(
    ctx.config.backupsDir,
    stateFor(ctx.config),
    ref,
    ctx.cwd ?? process.cwd(),
  );
  const manifest = await readManifest(dir);
  const read = (f: string) => readFileSync(path.join(dir, f), "utf8");
  return {
    env: manifest.env,
    label: manifest.id,
    version: shortVersion(read(VERSION_FILE).split("\n")[0] ?? ""),
    extensions: parseTsv(read(EXTENSIONS_FILE)).map(([name = "", version = ""]) => ({ name, version })),
    views: parseTsv(read(VIEWS_FILE)).map(([schema = "", name = "", rel = "{}"]) => ({
      schema,
      name,
      reloptions: parsePgArray(rel),
    })),
    policiesByTable: manifest.catalog.policiesByTable,
    tables: manifest.catalog.tables,
  };
}

async function liveState(ctx: DiffContext, env: string): Promise<DatabaseState> {
  const target = resolveTarget(ctx.config, { env });
  // pg loads only for a diff against live; two backups are compared from their files.
  const { openSnapshotSession } = await import("./catalog-snapshot.js");
  const session = await openSnapshotSession(target, {
    lockWaitTimeoutSeconds: ctx.config.lockWaitTimeoutSeconds,
    // Rows as a backup counts them, so the two sides compare like with like.
    exactCountMaxRows: ctx.config.exactCountMaxRows,
  });
  try {
    const c = await session.readCatalog();
    return {
      label: `live ${env}`,
      version: shortVersion(c.version),
      extensions: c.extensions,
      views: c.views,
      policiesByTable: c.policiesByTable,
      tables: c.tables,
    };
  } finally {
    await session.close();
  }
}

/** The runbook's post-upgrade sanity: version, extensions, view reloptions, policies per table. */
export async function diffBackups(ctx: DiffContext, input: DiffArgs): Promise<DiffResult> {
  const args = diffArgs.parse(input);
  const from = await backupState(ctx, args.from);
  const to = args.to === "live" ? await liveState(ctx, from.env) : await backupState(ctx, args.to);
  const diff = diffStates(from, to, ctx.config.rowDropPercent);
  return {
    ok: true,
    ...diff,
    securityInvokerLost: diff.views.changed.filter((v) => v.lostSecurityInvoker).length,
  };
}
