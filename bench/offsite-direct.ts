/**
 * The off-site bench's baseline, "done directly with the same library and server": each file
 * encrypted by the same `age` binary reading it as stdin (`age -r KEY < file`), its ciphertext
 * streamed to the store with @aws-sdk/client-s3's own multipart commands, same part size, no proof.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { ageBinaries } from "../src/offsite/age.js";
import { PART_SIZE } from "../src/offsite/upload.js";

/** `age -r KEY < file`: the file as the child's stdin, its ciphertext on a pipe. */
function ageEncryptFile(
  file: string,
  recipient: string,
  fd: number,
): { output: Readable; done: Promise<void>; kill(): void } {
  const child: ChildProcess = spawn(ageBinaries().age, ["-r", recipient], { stdio: [fd, "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 4_000) stderr += d.toString("utf8");
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`age exited ${code} on ${file}: ${stderr.trim()}`)),
    );
  });
  if (!child.stdout) throw new Error("age started without a stdout pipe");
  return { output: child.stdout, done, kill: () => child.kill("SIGKILL") };
}

/**
 * The direct way: a stream to `key` with the SDK's own commands, 8 MiB parts, two in flight (as
 * ours), a single PutObject when it fits one part (as ours; the fewest requests). Returns its bytes.
 */
export async function directUpload(client: S3Client, bucket: string, key: string, body: Readable) {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  let uploadId: string | undefined;
  let failure: unknown;
  let sent = 0;
  const parts: { ETag: string; PartNumber: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  const send = async (data: Buffer) => {
    uploadId ??= (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))).UploadId;
    const PartNumber = ++sent;
    const p = client
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber,
          Body: data,
          ContentLength: data.length,
        }),
      )
      .then((r) => void parts.push({ ETag: r.ETag ?? "", PartNumber }))
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 2) await Promise.race(inFlight);
    if (failure) throw failure;
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < PART_SIZE) continue;
      await send(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    }
    if (uploadId === undefined) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(pending) }));
      return bytes;
    }
    if (pendingBytes > 0) await send(Buffer.concat(pending));
    await Promise.all(inFlight);
    if (failure) throw failure;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const done = { Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } };
    await client.send(new CompleteMultipartUploadCommand(done));
    return bytes;
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (uploadId)
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => {});
    throw error;
  }
}

/** Each file encrypted (age, stdin from the file) and streamed up, one after another, as copyOffsite does. */
export async function directEncryptUpload(
  client: S3Client,
  bucket: string,
  files: { file: string; key: string }[],
  recipient: string,
): Promise<number> {
  let total = 0;
  for (const { file, key } of files) {
    const handle = await open(file, "r");
    try {
      const sealed = ageEncryptFile(file, recipient, handle.fd);
      try {
        const [bytes] = await Promise.all([directUpload(client, bucket, key, sealed.output), sealed.done]);
        total += bytes;
      } catch (error) {
        sealed.kill(); // an upload that failed leaves age blocked on a full pipe
        await sealed.done.catch(() => {});
        throw error;
      }
    } finally {
      await handle.close();
    }
  }
  return total;
}

/** Everything under `prefix` deleted, a page at a time (bounded: at most 100 pages). */
export async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (let page = 0; page < 100; page++) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
    if (keys.length === 0) return;
    for (const Key of keys) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  }
}
