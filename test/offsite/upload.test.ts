import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { isDbBackupError } from "../../src/errors.js";
import { s3Client } from "../../src/offsite/s3-client.js";
import {
  abortAbandonedUploads,
  PART_SIZE,
  type UploadTarget,
  uploadProven,
} from "../../src/offsite/upload.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";
import { stateOf } from "../helpers/state.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("uploads to an S3 server on 127.0.0.1: multipart, proven, aborted when cut", () => {
  let s3: S3TestServer;
  let root: string;
  let target: UploadTarget;

  beforeAll(async () => {
    s3 = await startS3Server();
    root = mkdtempSync(path.join(os.tmpdir(), "dbbackup-upload-"));
    const config = loadConfig({
      cwd: root,
      env: { ...s3.env("up"), DBBACKUP_AGE_RECIPIENTS: "" },
      noEnvFile: true,
    });
    const settings = config.offsite;
    if (!settings) throw new Error("no off-site settings");
    target = { client: s3Client(settings), settings, state: stateOf(root) };
  });
  afterAll(async () => {
    await s3?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  it("a 5.5-part stream goes up as a multipart upload, and the bytes stored are the bytes sent", async () => {
    // More parts than the part buffers, so each buffer is refilled after its part went up.
    const data = randomBytes(Math.floor(PART_SIZE * 5.5));
    const chunks = Array.from({ length: 77 }, (_, i) =>
      data.subarray(Math.floor((i * data.length) / 77), Math.floor(((i + 1) * data.length) / 77)),
    );
    const stored = await uploadProven(target, "up/big.age", Readable.from(chunks));
    expect(stored).toMatchObject({ bytes: data.length, sha256: sha256(data), proof: "etag" });
    expect(s3.storedSha256("up/big.age")).toBe(sha256(data));
    expect(s3.openUploads()).toEqual([]);
  });

  it("a small one goes up in one PUT, proven by its ETag", async () => {
    const data = Buffer.from("a small object\n");
    expect(await uploadProven(target, "up/small.age", Readable.from([data]))).toMatchObject({
      proof: "etag",
      bytes: data.length,
    });
    expect(s3.stored("up/small.age")?.equals(data)).toBe(true);
  });

  it("cut mid-upload (the server stops): it fails clearly, and the next run aborts the parts left behind", async () => {
    let sent = 0;
    const cut = Readable.from(
      (async function* () {
        for (let i = 0; i < 12; i++) {
          if (sent >= PART_SIZE * 2) await s3.stop();
          const chunk = randomBytes(PART_SIZE / 2);
          sent += chunk.length;
          yield chunk;
        }
      })(),
    );
    const failure = await uploadProven(target, "up/cut.age", cut).catch((error: unknown) => error);
    expect(isDbBackupError(failure) && failure.code).toMatch(/offsite_(unreachable|interrupted)/);
    expect(isDbBackupError(failure) && failure.hint).toContain("dbbackup offsite <ID>");
    await s3.restart();
    expect(s3.openUploads()).toHaveLength(1);
    expect(await abortAbandonedUploads(target)).toBe(1);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.keys()).not.toContain("up/cut.age");
    expect(await abortAbandonedUploads(target)).toBe(0);
  });
});
