import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { DbBackupError } from "../errors.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import { OpenUploads } from "../state/offsite-uploads.js";
import type { StateStore } from "../state/store.js";
import { IN_FLIGHT, PART_SIZE, PartBuffers } from "./part-buffers.js";
import { explainS3Error } from "./s3-errors.js";

/**
 * Our own multipart (not lib-storage): each part is a buffer the SDK can resend on a retry, and the
 * upload id is ours to record, so an upload whose abort didn't get through is aborted by the next run.
 */
export { PART_SIZE };

export interface StoredObject {
  key: string;
  bytes: number;
  sha256: string;
  /** How the stored bytes were proven equal to ours: the store's MD5 ETag, or reading them back. */
  proof: "etag" | "read-back";
}

interface Hashes {
  bytes: number;
  sha256: ReturnType<typeof createHash>;
  /** Each part's MD5 (the one part of a single PUT): what the store's ETags must say. */
  partMd5s: Buffer[];
  /** Every part's ETag, as the store answered it, was our MD5 of that part. */
  partsMatch: boolean;
}

export interface UploadTarget {
  client: S3Client;
  settings: OffsiteSettings;
  state: StateStore;
  signal?: AbortSignal | undefined;
}

/** Streams `body` to `key`, then proves the store holds exactly those bytes; a failed upload leaves no parts. */
export async function uploadProven(target: UploadTarget, key: string, body: Readable): Promise<StoredObject> {
  const hashes: Hashes = { bytes: 0, sha256: createHash("sha256"), partMd5s: [], partsMatch: true };
  const etag = await upload(target, key, body, hashes);
  const sha256 = hashes.sha256.digest("hex");
  const [only] = hashes.partMd5s;
  // One PUT: its ETag is the MD5 of the object. Multipart: each part's ETag was the MD5 of that part.
  const etags =
    hashes.partMd5s.length === 1 && only
      ? [only.toString("hex")]
      : [
          `${createHash("md5").update(Buffer.concat(hashes.partMd5s)).digest("hex")}-${hashes.partMd5s.length}`,
        ];
  const proof = await prove(target, key, {
    bytes: hashes.bytes,
    sha256,
    etags,
    etag,
    partsMatch: hashes.partMd5s.length > 1 && hashes.partsMatch,
  });
  return { key, bytes: hashes.bytes, sha256, proof };
}

async function upload(target: UploadTarget, key: string, body: Readable, hashes: Hashes): Promise<string> {
  const { client, settings } = target;
  const buffers = new PartBuffers();
  let buffer = buffers.take();
  let filled = 0;
  let multipart: Multipart | undefined;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      target.signal?.throwIfAborted();
      hashes.bytes += chunk.length;
      hashes.sha256.update(chunk);
      for (let offset = 0; offset < chunk.length; ) {
        const copied = chunk.copy(buffer, filled, offset);
        filled += copied;
        offset += copied;
        if (filled < PART_SIZE) continue;
        multipart ??= await Multipart.start(target, key, hashes, buffers);
        await multipart.add(part(buffer, hashes));
        buffer = buffers.take();
        filled = 0;
      }
    }
    if (!multipart) {
      const data = part(buffer.subarray(0, filled), hashes);
      const r = await client.send(
        new PutObjectCommand({ Bucket: settings.bucket, Key: key, Body: data, ContentLength: data.length }),
        { abortSignal: target.signal },
      );
      return r.ETag ?? "";
    }
    if (filled > 0) await multipart.add(part(buffer.subarray(0, filled), hashes));
    return await multipart.complete();
  } catch (error) {
    await multipart?.abort();
    throw explainS3Error(error, settings, `uploading ${key}`);
  }
}

function part(data: Buffer, hashes: Hashes): Buffer {
  hashes.partMd5s.push(createHash("md5").update(data).digest());
  return data;
}

/** One multipart upload: parts sent two at a time, recorded in the state until completed or aborted. */
class Multipart {
  private readonly parts: { ETag: string; PartNumber: number }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private nextNumber = 1;

  private constructor(
    private readonly target: UploadTarget,
    private readonly key: string,
    private readonly uploadId: string,
    private readonly open: OpenUploads,
    private readonly hashes: Hashes,
    private readonly buffers: PartBuffers,
  ) {}

  static async start(
    target: UploadTarget,
    key: string,
    hashes: Hashes,
    buffers: PartBuffers,
  ): Promise<Multipart> {
    const r = await target.client.send(
      new CreateMultipartUploadCommand({ Bucket: target.settings.bucket, Key: key }),
      { abortSignal: target.signal },
    );
    if (!r.UploadId) throw new Error("the store started a multipart upload without an id");
    const open = new OpenUploads(target.state);
    await open.add(key, r.UploadId);
    return new Multipart(target, key, r.UploadId, open, hashes, buffers);
  }

  async add(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const number = this.nextNumber++;
    const sending = this.send(number, data).then(
      () => this.buffers.give(data),
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
    if (this.inFlight.size >= IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async send(number: number, data: Buffer): Promise<void> {
    const r = await this.target.client.send(
      new UploadPartCommand({
        Bucket: this.target.settings.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: number,
        Body: data,
        ContentLength: data.length,
      }),
      { abortSignal: this.target.signal },
    );
    const ours = this.hashes.partMd5s[number - 1]?.toString("hex");
    if ((r.ETag ?? "").replace(/"/g, "") !== ours) this.hashes.partsMatch = false;
    this.parts.push({ ETag: r.ETag ?? "", PartNumber: number });
  }

  async complete(): Promise<string> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    const r = await this.target.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.target.settings.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber) },
      }),
    );
    await this.open.remove(this.uploadId);
    return r.ETag ?? "";
  }

  /** Best effort now; when the store can't be told, the state remembers and the next run tells it. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    try {
      await abortUpload(this.target, this.key, this.uploadId);
      await this.open.remove(this.uploadId);
    } catch {
      await this.open.markAbortFailed(this.uploadId).catch(() => {});
    }
  }
}

export async function abortUpload(
  target: Pick<UploadTarget, "client" | "settings">,
  key: string,
  uploadId: string,
) {
  await target.client.send(
    new AbortMultipartUploadCommand({ Bucket: target.settings.bucket, Key: key, UploadId: uploadId }),
  );
}

/** Aborts uploads a killed or failed run left open; returns how many were cleaned up. */
export async function abortAbandonedUploads(
  target: Pick<UploadTarget, "client" | "settings" | "state">,
): Promise<number> {
  const open = new OpenUploads(target.state);
  let cleaned = 0;
  for (const u of await open.abandoned()) {
    try {
      await abortUpload(target, u.key, u.uploadId);
    } catch (error) {
      // Already gone (completed or aborted) is as good as aborted.
      if (!/NoSuchUpload|NotFound|404/.test(String((error as { name?: string }).name ?? error))) continue;
    }
    await open.remove(u.uploadId);
    cleaned++;
  }
  return cleaned;
}

/** The store's size and MD5 ETag compared with ours; when the ETag isn't an MD5 (SSE-KMS, some stores), a read-back. */
async function prove(
  target: UploadTarget,
  key: string,
  ours: { bytes: number; sha256: string; etags: string[]; etag: string; partsMatch: boolean },
): Promise<StoredObject["proof"]> {
  const { client, settings } = target;
  const head = await client
    .send(new HeadObjectCommand({ Bucket: settings.bucket, Key: key }))
    .catch((error: unknown) => {
      throw explainS3Error(error, settings, `checking ${key}`);
    });
  if (head.ContentLength !== ours.bytes)
    await mismatch(target, key, `${head.ContentLength} bytes stored, ${ours.bytes} sent`);
  const stored = (head.ETag ?? ours.etag).replace(/"/g, "");
  if (ours.etags.includes(stored) || ours.partsMatch) return "etag";
  const read = await readBackSha256(target, key);
  if (read !== ours.sha256) await mismatch(target, key, "the bytes read back differ from the bytes sent");
  return "read-back";
}

async function readBackSha256(target: UploadTarget, key: string): Promise<string> {
  const { client, settings } = target;
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }), {
      abortSignal: target.signal,
    });
    const hash = createHash("sha256");
    for await (const chunk of r.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest("hex");
  } catch (error) {
    throw explainS3Error(error, settings, `reading back ${key}`);
  }
}

async function mismatch(target: UploadTarget, key: string, why: string): Promise<never> {
  await target.client
    .send(new DeleteObjectCommand({ Bucket: target.settings.bucket, Key: key }))
    .catch(() => {});
  throw new DbBackupError(
    "offsite_mismatch",
    `The object store did not keep what was sent for ${key}: ${why}.`,
    "The copy was removed. If the store rewrites uploads (checksums, compression), report it; `dbbackup offsite <ID>` tries again.",
  );
}
