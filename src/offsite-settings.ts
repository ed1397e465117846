import { z } from "zod/v3";

/** Keys the AWS SDK would read, given in .env or the environment: kept in memory, never in a file or a log. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where off-site copies go and who can read them. Present only when DBBACKUP_OFFSITE_URL is set. */
export interface OffsiteSettings {
  /** s3://bucket/prefix as given, for messages. */
  url: string;
  bucket: string;
  /** The key prefix, without a trailing slash ("" for the bucket's root). */
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** age public keys (age1… or ssh-ed25519/ssh-rsa lines); empty: copies can be read but not made. */
  recipients: string[];
  /** The age identity (private key) file that decrypts, for pull and restore tests from off-site. */
  identityFile?: string;
  keepOnDemand: number;
  keepPreUpgrade: number;
  /**
   * Static keys from the settings; undefined: the SDK's default chain (environment, profile, IMDS).
   * A function, so the keys never land in JSON or a log of the config by accident.
   */
  credentials?: () => S3Credentials;
}

const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;
const SSH_RECIPIENT = /^ssh-(ed25519|rsa) [A-Za-z0-9+/=]{40,}( .*)?$/;
const count = (fallback: string) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, "must be a whole number, 0 or more")
    .default(fallback)
    .transform(Number);

export const offsiteSchema = z.object({
  DBBACKUP_OFFSITE_URL: z
    .string()
    .regex(
      /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/,
      "must be s3://bucket or s3://bucket/prefix (a bucket name is 3-63 lower-case letters, digits, . and -)",
    )
    .optional(),
  DBBACKUP_S3_ENDPOINT: z
    .string()
    .url("must be a URL like https://<account>.r2.cloudflarestorage.com")
    .optional(),
  DBBACKUP_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/, "must be a region like us-east-1 or auto")
    .default("us-east-1"),
  DBBACKUP_S3_FORCE_PATH_STYLE: z.enum(["true", "false", "1", "0"]).default("false"),
  DBBACKUP_AGE_RECIPIENTS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => !list.some((r) => r.toUpperCase().startsWith("AGE-SECRET-KEY-")),
      "holds a private key (AGE-SECRET-KEY-…): remove it from this host and put its public key here (age-keygen -y key.txt)",
    )
    .refine(
      (list) => list.every((r) => AGE_RECIPIENT.test(r) || SSH_RECIPIENT.test(r)),
      "must be age public keys (age1…, from age-keygen -y) or ssh-ed25519/ssh-rsa keys, comma-separated; never the private key",
    )
    .optional(),
  DBBACKUP_AGE_IDENTITY_FILE: z.string().min(1).optional(),
  DBBACKUP_OFFSITE_KEEP_ON_DEMAND: count("30"),
  DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE: count("10"),
});

export const OFFSITE_FIXES: Record<string, string> = {
  DBBACKUP_OFFSITE_URL: "e.g. DBBACKUP_OFFSITE_URL=s3://acme-db-backups/supabase",
  DBBACKUP_S3_ENDPOINT: "omit it for AWS S3",
  DBBACKUP_S3_REGION: "e.g. us-east-1, or auto for R2",
  DBBACKUP_S3_FORCE_PATH_STYLE: "true or false",
  DBBACKUP_AGE_RECIPIENTS: "the public key age-keygen printed (age1…), comma-separated for several",
  DBBACKUP_OFFSITE_KEEP_ON_DEMAND: "how many on-demand copies per env the bucket keeps, e.g. 30",
  DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE: "how many pre-upgrade copies per env the bucket keeps, e.g. 10",
};

/** The off-site settings from parsed values and the raw settings (for the AWS keys), or undefined when not set. */
export function offsiteSettings(
  data: z.infer<typeof offsiteSchema>,
  raw: Record<string, string | undefined>,
): OffsiteSettings | undefined {
  const url = data.DBBACKUP_OFFSITE_URL;
  if (!url) return undefined;
  const [bucket = "", ...rest] = url.slice("s3://".length).split("/");
  const accessKeyId = raw.AWS_ACCESS_KEY_ID;
  const secretAccessKey = raw.AWS_SECRET_ACCESS_KEY;
  const sessionToken = raw.AWS_SESSION_TOKEN;
  return {
    url,
    bucket,
    prefix: rest.filter(Boolean).join("/"),
    ...(data.DBBACKUP_S3_ENDPOINT ? { endpoint: data.DBBACKUP_S3_ENDPOINT } : {}),
    region: data.DBBACKUP_S3_REGION,
    forcePathStyle: data.DBBACKUP_S3_FORCE_PATH_STYLE === "true" || data.DBBACKUP_S3_FORCE_PATH_STYLE === "1",
    recipients: data.DBBACKUP_AGE_RECIPIENTS ?? [],
    ...(data.DBBACKUP_AGE_IDENTITY_FILE ? { identityFile: data.DBBACKUP_AGE_IDENTITY_FILE } : {}),
    keepOnDemand: data.DBBACKUP_OFFSITE_KEEP_ON_DEMAND,
    keepPreUpgrade: data.DBBACKUP_OFFSITE_KEEP_PRE_UPGRADE,
    ...(accessKeyId && secretAccessKey
      ? { credentials: () => ({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }) }
      : {}),
  };
}
