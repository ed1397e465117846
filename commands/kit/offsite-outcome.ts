import type { Config } from "../../src/config.js";
import type { ErrorCode } from "../../src/errors.js";
import type { OffsiteCopy } from "../../src/offsite/copy.js";
import { asOffsiteError } from "../../src/offsite/s3-errors.js";

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
    const e = asOffsiteError(error);
    if (e.code === "cancelled") throw e;
    return { ok: false, code: e.code, message: e.message, hint: e.hint };
  }
}
