import type { RetentionRules } from "../backup/retention.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import { type Pin, readAnnotations } from "../state/annotations.js";
import type { StateStore } from "../state/store.js";
import { listOffsite } from "./list.js";
import {
  executeOffsiteRetention,
  type OffsiteDecision,
  type OffsiteOutcome,
  planOffsiteRetention,
} from "./retention.js";
import { s3Client } from "./s3-client.js";
import { explainS3Error } from "./s3-errors.js";

export interface OffsitePruneItem extends OffsiteDecision {
  /** What happened (a real prune): kept, deleted, or still there and why (`note`). */
  outcome?: OffsiteOutcome | "kept";
  note?: string;
}

/** The bucket's side of a prune: every copy considered, with its decision and what happened. */
export interface OffsitePruneResult {
  /** s3://bucket/prefix */
  url: string;
  rules: RetentionRules;
  /** Env by env, newest first. */
  copies: OffsitePruneItem[];
  /** Ids deleted (a real prune) or that would be (dry run), and their encrypted size. */
  deleted: string[];
  freedBytes: number;
  /** The bucket could not be read, so nothing of it was touched (the local prune went ahead). */
  error?: { code: string; message: string; hint: string };
  /** Stopped (Ctrl-C) before every planned delete was tried. */
  stopped: boolean;
}

export interface OffsitePruneRequest {
  env?: string | undefined;
  dryRun: boolean;
  signal?: AbortSignal | undefined;
  /** Pins known besides the state's (a pin an older dbbackup wrote into a manifest). */
  pins?: ReadonlyMap<string, Pin>;
}

async function pinsIn(state: StateStore): Promise<Map<string, Pin>> {
  const pins = new Map<string, Pin>();
  for (const [id, a] of Object.entries(await readAnnotations(state))) if (a.pin) pins.set(id, a.pin);
  return pins;
}

/** Applies (or, dry, plans) off-site retention to the bucket in `settings`; never throws for the bucket's sake. */
export async function pruneOffsite(
  settings: OffsiteSettings,
  state: StateStore,
  request: OffsitePruneRequest,
): Promise<OffsitePruneResult> {
  const rules = { keepOnDemand: settings.keepOnDemand, keepPreUpgrade: settings.keepPreUpgrade };
  const result: OffsitePruneResult = {
    url: settings.url,
    rules,
    copies: [],
    deleted: [],
    freedBytes: 0,
    stopped: false,
  };
  const client = s3Client(settings);
  try {
    const { copies } = await listOffsite(client, settings, request.env);
    const pins = new Map([...(request.pins ?? []), ...(await pinsIn(state))]);
    result.copies = planOffsiteRetention(copies, rules, pins);
  } catch (error) {
    const e = explainS3Error(error, settings, "listing the copies to prune");
    result.error = { code: e.code, message: e.message, hint: e.hint };
    return result;
  }
  if (!request.dryRun) {
    const run = await executeOffsiteRetention({ client, settings, signal: request.signal }, result.copies, {
      pinnedNow: async (id) => (await pinsIn(state)).get(id) ?? request.pins?.get(id),
    });
    result.stopped = run.stopped;
    const byId = new Map(run.results.map((r) => [r.id, r]));
    for (const item of result.copies) {
      const done = byId.get(item.id);
      item.outcome = done?.outcome ?? "kept";
      if (done?.note) item.note = done.note;
      else if (!done && item.action === "delete") item.note = "not reached: prune was stopped";
    }
  }
  const gone = result.copies.filter((c) =>
    request.dryRun ? c.action === "delete" : c.outcome === "deleted",
  );
  result.deleted = gone.map((c) => c.id);
  result.freedBytes = gone.reduce((n, c) => n + c.bytes, 0);
  return result;
}
