import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { OffsiteSettings } from "../offsite-settings.js";
import { type OffsiteIndex, offsiteIndexSchema } from "./index-file.js";
import { INDEX_NAME, keyFor } from "./s3-client.js";
import { explainS3Error } from "./s3-errors.js";

export interface OffsiteListing {
  /** Whole copies (their index is there and reads), newest first. */
  copies: OffsiteIndex[];
  /** Backup folders in the bucket with objects but no readable index: copies cut short, never shown as copies. */
  incomplete: string[];
}

/** What the bucket holds, from the bucket alone (no local folder, no key needed). */
export async function listOffsite(
  client: S3Client,
  settings: OffsiteSettings,
  env?: string,
): Promise<OffsiteListing> {
  const base = settings.prefix ? `${settings.prefix}/` : "";
  const folders = new Map<string, boolean>();
  let token: string | undefined;
  // Bounded: 1,000 keys a page, at most 1,000 pages.
  for (let page = 0; page < 1_000; page++) {
    const r = await client
      .send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: base, ContinuationToken: token }))
      .catch((error: unknown) => {
        throw explainS3Error(error, settings, "listing the bucket");
      });
    for (const object of r.Contents ?? []) {
      const [id, name] = (object.Key ?? "").slice(base.length).split("/");
      if (!id || !name) continue;
      folders.set(id, folders.get(id) === true || name === INDEX_NAME);
    }
    if (!r.IsTruncated || !r.NextContinuationToken) break;
    token = r.NextContinuationToken;
  }
  const incomplete: string[] = [];
  const ids = [...folders].filter(([id, indexed]) => {
    if (!indexed) incomplete.push(id);
    return indexed;
  });
  const copies: OffsiteIndex[] = [];
  for (const [id] of ids) {
    const index = await readIndex(client, settings, id).catch(() => undefined);
    if (!index) incomplete.push(id);
    else if (!env || index.env === env) copies.push(index);
  }
  copies.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return { copies, incomplete: incomplete.sort() };
}

/** One copy's index, or undefined when the bucket has no whole copy of `id`. */
export async function readIndex(
  client: S3Client,
  settings: OffsiteSettings,
  id: string,
): Promise<OffsiteIndex | undefined> {
  let text: string;
  try {
    const r = await client.send(
      new GetObjectCommand({ Bucket: settings.bucket, Key: keyFor(settings, id, INDEX_NAME) }),
    );
    text = (await r.Body?.transformToString("utf8")) ?? "";
  } catch (error) {
    if (["NoSuchKey", "NotFound"].includes(String((error as { name?: string }).name))) return undefined;
    throw explainS3Error(error, settings, `reading the copy of ${id}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // not an index we wrote: no whole copy
  }
  const parsed = offsiteIndexSchema.safeParse(json);
  return parsed.success && parsed.data.id === id ? parsed.data : undefined;
}
