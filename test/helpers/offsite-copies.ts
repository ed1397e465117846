import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseBackupId } from "../../src/backup/ids.js";
import type { OffsiteIndex } from "../../src/offsite/index-file.js";
import { dateOfId } from "./manifest.js";
import type { S3TestServer } from "./s3-server.js";

const SHA = "ab".repeat(32);

/** An index as `dbbackup offsite` writes it (`<prefix>/<id>/offsite.json`): env and label from the id, 1,024 bytes. */
export function offsiteIndex(id: string, prefix = "backups"): OffsiteIndex {
  const parsed = parseBackupId(id);
  if (!parsed) throw new Error(`not a backup id: ${id}`);
  const file = (name: string, bytes: number) => ({
    name,
    key: `${prefix}/${id}/${name}.age`,
    bytes,
    sha256: SHA,
    proof: "etag" as const,
  });
  return {
    format: 1,
    id,
    env: parsed.env,
    label: parsed.label ?? null,
    createdAt: dateOfId(id).toISOString(),
    stage: "readable",
    dbbackupVersion: "0.1.0",
    recipients: [{ fingerprint: "sha256:0123456789abcdef", hint: "age1qlkt3m…cqn8ln6l" }],
    files: [file("db_full.dump", 1000), file("manifest.json", 24)],
    copiedBy: "alice",
    provenAt: new Date(dateOfId(id).getTime() + 60_000).toISOString(),
  };
}

/** A plain SDK client for the test server (s3rver's fixed keys), to put and remove objects directly. */
export function s3ClientOf(server: S3TestServer): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
}

/** Fills the bucket with whole copies of `ids` (a file object, the manifest's, then the index), after emptying it. */
export async function putCopies(
  client: S3Client,
  server: S3TestServer,
  ids: readonly string[],
  prefix = "backups",
): Promise<void> {
  for (const key of server.keys())
    await client.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: key }));
  const put = (Key: string, Body: string) =>
    client.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body }));
  for (const id of ids) {
    await put(`${prefix}/${id}/db_full.dump.age`, `age-encrypted dump of ${id}`);
    await put(`${prefix}/${id}/manifest.json.age`, `age-encrypted manifest of ${id}`);
    await put(`${prefix}/${id}/offsite.json`, `${JSON.stringify(offsiteIndex(id, prefix), null, 2)}\n`);
  }
}
