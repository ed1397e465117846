import { z } from "zod/v3";

/**
 * `<prefix>/<id>/offsite.json`, written after every file of the copy was proven: its presence is what
 * makes a copy exist (a copy cut short has none and is never listed). In clear, so a host with no
 * key can list the bucket; it holds names, sizes and hashes of ciphertext, nothing of the data.
 */
export const offsiteIndexSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  /** When the backup was taken (its manifest's time). */
  createdAt: z.string(),
  /** The stage the backup had reached when it was copied. */
  stage: z.string().nullable(),
  dbbackupVersion: z.string(),
  recipients: z.array(z.object({ fingerprint: z.string(), hint: z.string() })),
  files: z.array(
    z.object({
      name: z.string(),
      key: z.string(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      proof: z.enum(["etag", "read-back"]),
    }),
  ),
  copiedBy: z.string(),
  provenAt: z.string(),
});
export type OffsiteIndex = z.infer<typeof offsiteIndexSchema>;

/** The file holding the manifest: restored last on pull, so a folder with a manifest is whole. */
export const MANIFEST_NAME = "manifest.json";
