import { createHash } from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import { DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { annotateBackup } from "../backup/annotate-backup.js";
import { readBackupFolder } from "../backup/backup-folders.js";
import { MANIFEST_FILE, type Manifest } from "../backup/manifest.js";
import { markInUse } from "../backup/restore-lock.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import { type OffsiteRecord, readAnnotations } from "../state/annotations.js";
import { tryLock } from "../state/locks.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { TOOL_VERSION } from "../version.js";
import { encryptFile, recipientHint } from "./age.js";
import type { OffsiteIndex } from "./index-file.js";
import { INDEX_NAME, keyFor, s3Client } from "./s3-client.js";
import { asOffsiteError } from "./s3-errors.js";
import { abortAbandonedUploads, type StoredObject, type UploadTarget, uploadProven } from "./upload.js";

export interface OffsiteCopy {
  id: string;
  /** The sha256 of each stored (encrypted) object, by file name. */
  sha256: Record<string, string>;
  /** It had been copied and proven before: nothing was sent this time. */
  already?: boolean;
  location: string;
  bytes: number;
  files: number;
  recipients: string[];
  provenAt: string;
  proof: StoredObject["proof"];
}

export interface CopyRequest {
  requestedBy: string;
  signal?: AbortSignal | undefined;
  /** A line per file as it is copied. */
  onFile?: (name: string, bytes: number) => void;
}

/** The off-site settings, or why there are none to copy with. */
export function offsiteFor(config: Config, forWriting: boolean): OffsiteSettings {
  const settings = config.offsite;
  if (!settings)
    throw new DbBackupError(
      "offsite_not_configured",
      "Off-site copies aren't set up: DBBACKUP_OFFSITE_URL is not set.",
      "Set DBBACKUP_OFFSITE_URL=s3://bucket/prefix and DBBACKUP_AGE_RECIPIENTS (README: Off-site copies).",
    );
  if (forWriting && settings.recipients.length === 0)
    throw new DbBackupError(
      "offsite_no_recipients",
      "Off-site copies are encrypted before they leave, and DBBACKUP_AGE_RECIPIENTS names no key to encrypt to.",
      "Run age-keygen -o key.txt somewhere safe (not this host), and set DBBACKUP_AGE_RECIPIENTS to the public key it prints.",
    );
  return settings;
}

const fingerprint = (recipient: string) =>
  `sha256:${createHash("sha256").update(recipient).digest("hex").slice(0, 16)}`;

/**
 * Copies backup `id` off-site: each file encrypted to the recipients as it streams up, each stored
 * object proven equal to what was sent, then the index that makes the copy exist. The backup's
 * record says where it is, or why it failed (the local backup is untouched either way).
 */
export async function copyOffsite(config: Config, id: string, request: CopyRequest): Promise<OffsiteCopy> {
  const settings = offsiteFor(config, true);
  const state = stateFor(config);
  const found = await readBackupFolder(config.backupsDir, id);
  if ("reason" in found)
    throw new DbBackupError(
      "not_found",
      `There is no backup ${id} here (${found.reason}).`,
      "Run `dbbackup list` to see the backups.",
    );
  const before = (await readAnnotations(state))[id]?.offsite;
  if (before?.ok && before.location && before.provenAt)
    return {
      id,
      already: true,
      location: before.location,
      bytes: before.bytes ?? 0,
      sha256: before.sha256 ?? {},
      files: Object.keys(before.sha256 ?? {}).length,
      recipients: before.recipients ?? [],
      provenAt: before.provenAt,
      proof: "etag",
    };
  const reading = await markInUse(state, config.backupsDir, id, request.requestedBy);
  const lock = await copyLock(state, id, request.requestedBy);
  const target: UploadTarget = { client: s3Client(settings), settings, state, signal: request.signal };
  try {
    await abortAbandonedUploads(target);
    const copy = await copyFiles(config, target, found.manifest, request);
    await record(state, config.backupsDir, id, {
      ok: true,
      at: copy.provenAt,
      by: request.requestedBy,
      location: copy.location,
      bytes: copy.bytes,
      sha256: copy.sha256,
      recipients: copy.recipients,
      provenAt: copy.provenAt,
    });
    return copy;
  } catch (error) {
    const e = asOffsiteError(error);
    if (e.code !== "cancelled")
      await record(state, config.backupsDir, id, {
        ok: false,
        at: new Date().toISOString(),
        by: request.requestedBy,
        code: e.code,
        why: e.message,
      }).catch(() => {});
    throw e;
  } finally {
    await lock.release();
    await reading.release();
  }
}

async function copyLock(state: StateStore, id: string, requestedBy: string) {
  const attempt = await tryLock(state, {
    name: `offsite:${id}`,
    jobId: `offsite-${id}`,
    requestedBy,
    what: `off-site copy of ${id}`,
  });
  if ("held" in attempt) return attempt.held;
  throw new DbBackupError(
    "job_running",
    `Backup ${id} is being copied off-site already (${attempt.holder.requestedBy} started it at ${attempt.holder.startedAt}).`,
    "Wait for that copy; `dbbackup list` shows it once it is proven.",
  );
}

async function copyFiles(
  config: Config,
  target: UploadTarget,
  manifest: Manifest,
  request: CopyRequest,
): Promise<OffsiteCopy> {
  const { settings } = target;
  const dir = path.join(config.backupsDir, manifest.id);
  // The dump first, so it streams while the small companions go up beside it; the manifest, not in
  // its own list, goes last. The index, written after all of them, is what makes the copy exist.
  const files = manifest.files.filter((f) => f.name !== MANIFEST_FILE).sort((a, b) => b.bytes - a.bytes);
  const names = [...files.map((f) => f.name), MANIFEST_FILE];
  const stored: (StoredObject & { name: string })[] = [];
  try {
    const send = async (name: string) => {
      const sealed = encryptFile(target.state, path.join(dir, name), settings.recipients, request.signal);
      const [object] = await Promise.all([
        uploadProven(target, keyFor(settings, manifest.id, `${name}.age`), sealed.output),
        sealed.done,
      ]);
      stored.push({ ...object, name });
      request.onFile?.(name, object.bytes);
    };
    // Three at a time: a small file costs an age start and two round trips, the dump a while.
    let next = 0;
    const lane = async () => {
      while (next < names.length) await send(names[next++] ?? "");
    };
    const lanes = await Promise.allSettled([lane(), lane(), lane()]);
    const failed = lanes.find((l) => l.status === "rejected");
    if (failed) throw failed.reason;
    stored.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
    const provenAt = new Date().toISOString();
    const index: OffsiteIndex = {
      format: 1,
      id: manifest.id,
      env: manifest.env,
      label: manifest.label,
      createdAt: manifest.startedAt,
      stage: manifest.verification.stage,
      dbbackupVersion: TOOL_VERSION,
      recipients: settings.recipients.map((r) => ({ fingerprint: fingerprint(r), hint: recipientHint(r) })),
      files: stored.map((s) => ({
        name: s.name,
        key: s.key,
        bytes: s.bytes,
        sha256: s.sha256,
        proof: s.proof,
      })),
      copiedBy: request.requestedBy,
      provenAt,
    };
    await uploadProven(
      target,
      keyFor(settings, manifest.id, INDEX_NAME),
      Readable.from([Buffer.from(`${JSON.stringify(index, null, 2)}\n`)]),
    );
    return {
      id: manifest.id,
      location: `s3://${settings.bucket}/${keyFor(settings, manifest.id, "")}/`,
      bytes: stored.reduce((n, s) => n + s.bytes, 0),
      sha256: Object.fromEntries(stored.map((s) => [s.name, s.sha256])),
      files: stored.length,
      recipients: index.recipients.map((r) => r.hint),
      provenAt,
      proof: stored.every((s) => s.proof === "etag") ? "etag" : "read-back",
    };
  } catch (error) {
    // What went up of a copy that failed is taken down again: no half copy stays behind.
    await removeObjects(
      target.client,
      settings,
      stored.map((s) => s.key),
    );
    throw error;
  }
}

export async function removeObjects(
  client: S3Client,
  settings: OffsiteSettings,
  keys: readonly string[],
): Promise<void> {
  for (const key of keys)
    await client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: key })).catch(() => {});
}

function record(state: StateStore, root: string, id: string, offsite: OffsiteRecord): Promise<void> {
  return annotateBackup(state, root, id, "while it was copied off-site", (current) => ({
    // A failed retry doesn't hide a copy that was proven before.
    next: { ...current, offsite: !offsite.ok && current.offsite?.ok ? { ...current.offsite } : offsite },
    result: undefined,
  }));
}
