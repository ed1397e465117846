import { DbBackupError, isDbBackupError } from "../errors.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import { redactText } from "../redact.js";

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  Code?: string;
}

const where = (s: OffsiteSettings) => `${s.url}${s.endpoint ? ` at ${s.endpoint}` : ""}`;

/** An S3 (or network) failure as a person reads it: what happened, to which bucket, what to do. */
export function explainS3Error(error: unknown, settings: OffsiteSettings, doing: string): DbBackupError {
  if (isDbBackupError(error)) return error;
  const e = (typeof error === "object" && error !== null ? error : {}) as SdkError;
  const name = e.name ?? e.Code ?? e.code ?? "";
  const status = e.$metadata?.httpStatusCode;
  const text = redactText(`${name} ${e.message ?? String(error)}`);
  if (name === "NoSuchBucket")
    return new DbBackupError(
      "offsite_bucket_missing",
      `The bucket ${settings.bucket} does not exist (${doing}, ${where(settings)}).`,
      "Create it, or fix DBBACKUP_OFFSITE_URL (and DBBACKUP_S3_ENDPOINT/DBBACKUP_S3_REGION for the store it is in).",
    );
  if (
    /InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|CredentialsProviderError|Could not load credentials/i.test(
      text,
    )
  )
    return new DbBackupError(
      "offsite_credentials",
      `The bucket ${settings.bucket} refused the credentials (${name || "no credentials"}) while ${doing}.`,
      "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (in .env or the environment) to a key for this store.",
    );
  if (name === "AccessDenied" || name === "Forbidden" || status === 403)
    return new DbBackupError(
      "offsite_access_denied",
      `The bucket ${settings.bucket} denied access while ${doing} (AccessDenied).`,
      "Give the key s3:PutObject, s3:GetObject, s3:ListBucket and s3:AbortMultipartUpload on this bucket and prefix (README: Off-site copies).",
    );
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|getaddrinfo/i.test(text))
    return new DbBackupError(
      "offsite_unreachable",
      `The object store at ${settings.endpoint ?? `s3.${settings.region}.amazonaws.com`} can't be reached (${doing}).`,
      "Check DBBACKUP_S3_ENDPOINT and this host's network; `dbbackup offsite <ID>` copies it once it is back.",
    );
  if (
    /ECONNRESET|EPIPE|socket hang up|TimeoutError|ETIMEDOUT|RequestTimeout|aborted/i.test(text) ||
    (status ?? 0) >= 500
  )
    return new DbBackupError(
      "offsite_interrupted",
      `The connection to the object store broke while ${doing} (${name || "network"}${status ? `, HTTP ${status}` : ""}), after retries.`,
      "Nothing half-copied is listed. Run `dbbackup offsite <ID>` again when the network is steady.",
    );
  return new DbBackupError(
    "offsite_failed",
    `The object store refused ${doing}: ${text.trim().slice(0, 300)}.`,
    "Check DBBACKUP_OFFSITE_URL and the store's settings; `dbbackup offsite <ID>` retries it.",
  );
}

/** Any failure of a copy as one of ours: the store's and age's are already; anything else is said plainly. */
export function asOffsiteError(error: unknown): DbBackupError {
  return isDbBackupError(error)
    ? error
    : new DbBackupError(
        "offsite_failed",
        `The off-site copy failed: ${String(error)}`,
        "Run `dbbackup offsite <ID>` again.",
      );
}
