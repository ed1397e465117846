import { randomUUID } from "node:crypto";
import { ERROR_CODES, isDbBackupError } from "../../src/errors.js";
import { audit, jobAuditKinds } from "../../src/state/audit.js";
import { stateFor } from "../../src/state/open.js";
import type { CommandContext } from "./context.js";
import type { AnyVerb, SlackJobViews } from "./verb.js";

/**
 * Runs a verb. A job (a backup, a restore test, an off-site copy) gets its audit lines here, the
 * same from the terminal and from Slack: started (who, from where, approved by whom), then
 * finished, failed or cancelled. `args` are already checked.
 */
export async function runAudited(
  verb: AnyVerb,
  ctx: CommandContext,
  args: unknown,
  approvedBy: string | null = null,
): Promise<unknown> {
  const views = verb.slack?.job as SlackJobViews<unknown, unknown> | undefined;
  if (!views || views.auditsItself) return verb.run(ctx, args);
  const state = stateFor(ctx.config);
  const kinds = jobAuditKinds(views.auditAs);
  const job = ctx.jobId ?? randomUUID().slice(0, 8);
  const env = views.env(args);
  // "Started" once the work did (its first event), so a request refused at the door writes nothing,
  // not even the backups folder.
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void audit(state, kinds.started, {
      job,
      env,
      label: views.label(args),
      by: ctx.requestedBy,
      approvedBy,
      via: ctx.via ?? "terminal",
    });
  };
  const watched: CommandContext = {
    ...ctx,
    onEvent: (event) => {
      start();
      ctx.onEvent?.(event);
    },
    onRestoreEvent: (event) => {
      start();
      ctx.onRestoreEvent?.(event);
    },
  };
  try {
    const result = await verb.run(watched, args);
    start();
    void audit(state, kinds.finished, { job, env, ...outcomeFields(result) });
    return result;
  } catch (error) {
    const code = isDbBackupError(error) ? error.code : "internal_error";
    if (!started && ERROR_CODES[code] === "refused") throw error;
    start();
    void audit(state, code === "cancelled" ? kinds.cancelled : kinds.failed, { job, env, code });
    throw error;
  }
}

/** The audit fields of a finished job: its id, stage or outcome, when the result says them. */
function outcomeFields(result: unknown): Record<string, string | boolean | null> {
  const r = (typeof result === "object" && result !== null ? result : {}) as Record<string, unknown>;
  const fields: Record<string, string | boolean | null> = {};
  if (typeof r.id === "string") fields.id = r.id;
  if ("stage" in r) fields.stage = typeof r.stage === "string" ? r.stage : null;
  if (typeof r.ok === "boolean") fields.ok = r.ok;
  return fields;
}
