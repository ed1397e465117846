import type { Config } from "../../src/config.js";
import { DbBackupError, type ErrorCode, isDbBackupError } from "../../src/errors.js";
import type { OffsiteCopy } from "../../src/offsite/copy.js";

/** How a backup's off-site copy went: proven, or why not (the local backup stands either way). */
export type OffsiteOutcome =
  | ({ ok: true } & OffsiteCopy)
  | { ok: false; code: ErrorCode; message: string; hint: string };

/**
 * Copies a backup off-site when off-site copies are set up; never throws (a copy that failed leaves a
 * good local backup, and the caller says both). The AWS SDK loads only here, only when configured.
 */
export async function copyIfConfigured(
  config: Config,
  id: string,
  requestedBy: string,
  signal: AbortSignal | undefined,
): Promise<OffsiteOutcome | undefined> {
  if (!config.offsite) return undefined;
  try {
    const { copyOffsite } = await import("../../src/offsite/copy.js");
    return { ok: true, ...(await copyOffsite(config, id, { requestedBy, signal })) };
  } catch (error) {
    const e = isDbBackupError(error)
      ? error
      : new DbBackupError(
          "offsite_failed",
          `The off-site copy failed: ${String(error)}`,
          "Run `dbbackup offsite <ID>` again.",
        );
    if (e.code === "cancelled") throw e;
    return { ok: false, code: e.code, message: e.message, hint: e.hint };
  }
}
