import type { BackupSummary } from "../../backup/catalog.js";
import type { GuardrailMemory } from "../../state/guardrail-memory.js";
import { backupRef, type GuardrailContext } from "../context.js";
import type { Notice } from "../notices.js";

const DAY_MS = 86_400_000;

export interface OffsiteCopyRef {
  id: string;
  provenAt: string;
}

/** Each env's newest backup whose off-site copy was proven, from the listing (its off-site facts). Pure. */
export function lastOffsiteCopies(backups: readonly BackupSummary[]): Map<string, OffsiteCopyRef> {
  const last = new Map<string, OffsiteCopyRef>();
  for (const b of backups) {
    if (!b.offsite?.ok) continue;
    const seen = last.get(b.env);
    if (!seen || b.offsite.at > seen.provenAt) last.set(b.env, { id: b.id, provenAt: b.offsite.at });
  }
  return last;
}

/**
 * The dead-man alert for one env: no backup reached stage 2 in `deadManDays`, or (off-site copies set
 * up: `copies` given) none reached the bucket in those days. Each is said once a day until it is true
 * again; one message says whichever holds.
 */
export async function checkDeadMan(
  ctx: GuardrailContext,
  memory: GuardrailMemory,
  post: (notice: Notice) => Promise<boolean>,
  env: string,
  facts: { newest: BackupSummary | undefined; copies: ReadonlyMap<string, OffsiteCopyRef> | undefined },
): Promise<void> {
  const days = ctx.settings.deadManDays;
  if (days <= 0) return;
  const now = ctx.now();
  const day = now.toISOString().slice(0, 10);
  const tooOld = (iso: string | undefined) => !iso || now.getTime() - new Date(iso).getTime() > days * DAY_MS;
  const noStage2 = tooOld(facts.newest?.finishedAt);
  const lastCopy = facts.copies?.get(env) ?? null;
  const offsiteStale = facts.copies !== undefined && tooOld(lastCopy?.provenAt);
  const keys = [
    ...(noStage2 ? [`dead-man:${env}:${day}`] : []),
    ...(offsiteStale ? [`dead-man-offsite:${env}:${day}`] : []),
  ];
  const unsaid = [];
  for (const key of keys) if (!(await memory.sentAt(key))) unsaid.push(key);
  if (unsaid.length === 0) return;
  const said = await post({
    kind: "dead-man",
    env,
    days,
    noStage2,
    lastBackup: facts.newest ? backupRef(facts.newest) : null,
    ...(offsiteStale ? { offsite: { lastCopy } } : {}),
  });
  if (said) for (const key of keys) await memory.remember(key, now);
}
