import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";

export interface S3TestServer {
  /** http://127.0.0.1:PORT, for DBBACKUP_S3_ENDPOINT. */
  endpoint: string;
  bucket: string;
  /** The settings a test's .env needs (s3rver's fixed keys, path-style addressing). */
  env(prefix?: string): Record<string, string>;
  /** The bytes the server stored under `key` (its own file on disk), or undefined. */
  stored(key: string): Buffer | undefined;
  storedSha256(key: string): string | undefined;
  /** Every key in the bucket. */
  keys(): string[];
  /** Multipart uploads started and neither completed nor aborted. */
  openUploads(): string[];
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (after stop). */
  restart(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1 over a temp folder: the S3 API over real HTTP. It lacks AbortMultipartUpload,
 * which every real store has; a middleware adds it (the upload's parts are removed, as S3 does).
 */
export async function startS3Server(bucket = "dbbackup-test"): Promise<S3TestServer> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "dbbackup-s3-"));
  let port = 0;
  let server: S3rver;
  const start = async () => {
    server = new S3rver({
      address: "127.0.0.1",
      port,
      directory,
      silent: true,
      configureBuckets: [{ name: bucket }],
    });
    server.middleware.splice(1, 0, async (ctx, next) => {
      const uploadId = ctx.query.uploadId;
      if (ctx.method !== "DELETE" || !uploadId) return next();
      rmSync(path.join(uploadsDir(), uploadId), { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = "";
    });
    ({ port } = await server.run());
  };
  const uploadsDir = () => server.store.getResourcePath(bucket, undefined, "uploads");
  const objectFile = (key: string) => server.store.getResourcePath(bucket, key, "object");
  await start();
  const stored = (key: string) => {
    const file = objectFile(key);
    return existsSync(file) ? readFileSync(file) : undefined;
  };
  const keys = (dir = path.join(directory, bucket), prefix = ""): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      if (entry.isDirectory()) return keys(path.join(dir, entry.name), `${prefix}${entry.name}/`);
      const match = /^(.*)\._S3rver_object$/.exec(entry.name);
      return match ? [`${prefix}${match[1]}`] : [];
    });
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    bucket,
    env(prefix = "backups") {
      return {
        DBBACKUP_OFFSITE_URL: `s3://${bucket}/${prefix}`,
        DBBACKUP_S3_ENDPOINT: `http://127.0.0.1:${port}`,
        DBBACKUP_S3_FORCE_PATH_STYLE: "true",
        AWS_ACCESS_KEY_ID: "S3RVER",
        AWS_SECRET_ACCESS_KEY: "S3RVER",
      };
    },
    stored,
    storedSha256(key) {
      const bytes = stored(key);
      return bytes ? createHash("sha256").update(bytes).digest("hex") : undefined;
    },
    keys: () => keys().sort(),
    openUploads: () => (existsSync(uploadsDir()) ? readdirSync(uploadsDir()) : []),
    stop: () => server.close(),
    restart: start,
    async remove() {
      await server.close().catch(() => {});
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
