import { S3Client } from "@aws-sdk/client-s3";
import type { OffsiteSettings } from "../offsite-settings.js";

// The SDK warns on Node 20 (supported until 2027): the warning is for us to act on, not the 2 a.m. reader.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/**
 * An S3 client for any S3-compatible store. Checksums only where the API requires them: since SDK
 * 3.729 the default adds CRC trailers to every upload, which R2, B2, MinIO and Supabase Storage (and
 * s3rver, which stores the framing as data) don't all understand. We prove what was stored ourselves.
 * Retries: the SDK's standard strategy, with backoff, on 5xx, throttling and timeouts.
 */
export function s3Client(settings: OffsiteSettings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.credentials ? { credentials: settings.credentials() } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 4,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
  });
}

/** Object keys of one backup's copy: <prefix>/<id>/<file>.age, and the index written last. */
export const keyFor = (settings: OffsiteSettings, id: string, name: string): string =>
  [settings.prefix, id, name].filter(Boolean).join("/");

export const INDEX_NAME = "offsite.json";
