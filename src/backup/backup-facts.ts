import type { Annotation, Pin, RestoreTestRecord, VerifyRecord } from "../state/annotations.js";
import type { StageName } from "./manifest.js";

/** The part of a restore test every reader needs (list keeps only this much). */
export type RestoreTestSummary = Pick<RestoreTestRecord, "at" | "ok" | "by" | "ms" | "serverMajor">;

/** What a manifest says of its own later history (only manifests of earlier versions say anything). */
export interface ManifestHistory<R extends RestoreTestSummary = RestoreTestRecord> {
  verification: { stage: StageName | null; lastVerify?: VerifyRecord | undefined };
  pin?: Pin | undefined;
  restoreTest?: R | undefined;
}

/** A backup's standing: its manifest, with what the state learned since laid over it. */
export interface BackupFacts<R extends RestoreTestSummary = RestoreTestRecord> {
  stage: StageName | null;
  pin?: Pin;
  lastVerify?: VerifyRecord;
  restoreTest?: R | RestoreTestRecord;
}

/**
 * The manifest's own record, overridden by the state's annotations. A restore test decides stage 3
 * either way: passed, the backup is `restored`; failed, it drops back to `readable` (never below,
 * since stage 2 still holds). Pure.
 */
export function backupFacts<R extends RestoreTestSummary>(
  manifest: ManifestHistory<R>,
  annotation: Annotation | undefined,
): BackupFacts<R> {
  const pin = annotation && annotation.pin !== undefined ? (annotation.pin ?? undefined) : manifest.pin;
  const lastVerify = annotation?.lastVerify ?? manifest.verification.lastVerify;
  const restoreTest = annotation?.restoreTest ?? manifest.restoreTest;
  let stage = manifest.verification.stage;
  if (annotation?.restoreTest && stage !== null && stage !== "dumped") {
    stage = annotation.restoreTest.ok ? "restored" : "readable";
  }
  return {
    stage,
    ...(pin ? { pin } : {}),
    ...(lastVerify ? { lastVerify } : {}),
    ...(restoreTest ? { restoreTest } : {}),
  };
}
