import { describe, expect, it } from "vitest";
import { explainS3Error } from "../../src/offsite/s3-errors.js";
import { offsiteSchema, offsiteSettings } from "../../src/offsite-settings.js";

const settings = (() => {
  const raw = {
    DBBACKUP_OFFSITE_URL: "s3://acme-db-backups/supabase",
    DBBACKUP_S3_ENDPOINT: "https://store.example",
  };
  const s = offsiteSettings(offsiteSchema.parse(raw), raw);
  if (!s) throw new Error("no settings");
  return s;
})();

/** An error shaped like the AWS SDK's (name, $metadata) or Node's network errors. */
const sdkError = (name: string, status?: number, message = name) =>
  Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

describe("what a person reads when the object store says no", () => {
  it.each([
    [sdkError("NoSuchBucket", 404), "offsite_bucket_missing", "The bucket acme-db-backups does not exist"],
    [
      sdkError("AccessDenied", 403),
      "offsite_access_denied",
      "denied access while uploading x (AccessDenied)",
    ],
    [
      sdkError("InvalidAccessKeyId", 403),
      "offsite_credentials",
      "refused the credentials (InvalidAccessKeyId)",
    ],
    [sdkError("SignatureDoesNotMatch", 403), "offsite_credentials", "refused the credentials"],
    [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
      "offsite_unreachable",
      "https://store.example can't be reached",
    ],
    [
      Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      "offsite_interrupted",
      "The connection to the object store broke while uploading x",
    ],
    [sdkError("InternalError", 503), "offsite_interrupted", "HTTP 503"],
    [sdkError("InvalidStorageClass", 400), "offsite_failed", "The object store refused uploading x"],
  ])("%s → %s", (error, code, words) => {
    const e = explainS3Error(error, settings, "uploading x");
    expect(e.code).toBe(code);
    expect(e.message).toContain(words);
    expect(e.hint.length).toBeGreaterThan(20);
  });
});
