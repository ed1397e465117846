import { z } from "zod/v3";
import type { DocSpec, StateStore, StateTx } from "./store.js";

/**
 * What is learned about a backup after it was filed: a pin, the latest re-verify, the latest restore
 * test. Its manifest.json says what the backup *is* and is never rewritten; these facts live in the
 * state, where two writers can't lose each other's updates.
 */
export const pinSchema = z.object({ reason: z.string(), by: z.string(), at: z.string() });
export type Pin = z.infer<typeof pinSchema>;

export const verifyRecordSchema = z.object({ at: z.string(), ok: z.boolean(), by: z.string() });
export type VerifyRecord = z.infer<typeof verifyRecordSchema>;

export const parityRowSchema = z.object({
  kind: z.enum([
    "file",
    "table",
    "view",
    "extension",
    "policies",
    "sequence",
    "function",
    "procedure",
    "aggregate",
    "materialized view",
    "trigger",
    "event trigger",
    "error",
  ]),
  name: z.string(),
  expected: z.string(),
  actual: z.string(),
  result: z.enum(["ok", "expected", "failed"]),
  note: z.string().optional(),
});

/** Whether a kind of object was compared at all, and why not: a kind left out is never a silent pass. */
export const comparedKindSchema = z.object({
  kind: z.string(),
  compared: z.boolean(),
  why: z.string().optional(),
});
export type ComparedKind = z.infer<typeof comparedKindSchema>;

export const restoreTestRecordSchema = z.object({
  at: z.string(),
  by: z.string(),
  ok: z.boolean(),
  ms: z.number(),
  serverMajor: z.number(),
  /** What matched, what was expected to differ (e.g. an extension vanilla Postgres lacks), what failed. */
  parity: z.array(parityRowSchema),
  /** Which kinds were compared (absent in records before it was said). */
  compared: z.array(comparedKindSchema).optional(),
});
export type RestoreTestRecord = z.infer<typeof restoreTestRecordSchema>;

/** Where a backup's encrypted off-site copy is and when it was proven; or why the last copy failed. */
export const offsiteRecordSchema = z.object({
  ok: z.boolean(),
  at: z.string(),
  by: z.string(),
  /** s3://bucket/prefix/<id>/ */
  location: z.string().optional(),
  /** Total encrypted bytes, and the sha256 of each stored object by file name. */
  bytes: z.number().optional(),
  sha256: z.record(z.string()).optional(),
  recipients: z.array(z.string()).optional(),
  provenAt: z.string().optional(),
  /** When it failed: the error's code and message. */
  code: z.string().optional(),
  why: z.string().optional(),
});
export type OffsiteRecord = z.infer<typeof offsiteRecordSchema>;

const annotationSchema = z.object({
  /** null: unpinned (a pin an older dbbackup wrote into manifest.json no longer counts). */
  pin: pinSchema.nullable().optional(),
  lastVerify: verifyRecordSchema.optional(),
  restoreTest: restoreTestRecordSchema.optional(),
  offsite: offsiteRecordSchema.optional(),
});
export type Annotation = z.infer<typeof annotationSchema>;

export const annotationsDoc: DocSpec<{ backups: Record<string, Annotation> }> = {
  name: "annotations",
  schema: z.object({ backups: z.record(annotationSchema) }),
  empty: () => ({ backups: {} }),
};

/** Every backup's annotations, by id. */
export async function readAnnotations(store: StateStore): Promise<Record<string, Annotation>> {
  return (await store.read(annotationsDoc)).backups;
}

/**
 * Changes one backup's annotations inside a transaction; `stillThere` runs inside it too, so a prune
 * (which deletes inside one) either sees the change or makes `stillThere` refuse it.
 */
export function annotate<R>(
  store: StateStore,
  id: string,
  stillThere: (tx: StateTx) => Promise<void>,
  change: (current: Annotation) => { next: Annotation; result: R },
): Promise<R> {
  return store.transact(async (tx) => {
    await stillThere(tx);
    const doc = await tx.read(annotationsDoc);
    const { next, result } = change(doc.backups[id] ?? {});
    await tx.write(annotationsDoc, { backups: { ...doc.backups, [id]: next } });
    return result;
  });
}

/** Drops the annotations of backups that are gone (inside prune's transaction). */
export async function forgetAnnotations(tx: StateTx, ids: readonly string[]): Promise<void> {
  const doc = await tx.read(annotationsDoc);
  if (!ids.some((id) => id in doc.backups)) return;
  const backups = { ...doc.backups };
  for (const id of ids) delete backups[id];
  await tx.write(annotationsDoc, { backups });
}
