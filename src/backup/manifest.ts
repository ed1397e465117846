import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod/v3";
import { pinSchema, restoreTestRecordSchema, verifyRecordSchema } from "../state/annotations.js";
import { writeFileAtomic } from "../state/atomic-file.js";
import { appObjectsSchema, sequencePositionSchema } from "./app-objects.js";
import { databaseIdentitySchema } from "./database-identity.js";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_SCHEMA = "dbbackup.manifest/1";

export const STAGES = ["dumped", "readable", "restored"] as const;
export type StageName = (typeof STAGES)[number];

const check = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
export type Check = z.infer<typeof check>;

const stageResult = z.object({
  stage: z.enum(STAGES),
  ok: z.boolean(),
  at: z.string(),
  ms: z.number(),
  checks: z.array(check),
});
export type StageResult = z.infer<typeof stageResult>;

const counts = z.object({
  tables: z.number(),
  views: z.number(),
  materializedViews: z.number(),
  policies: z.number(),
  extensions: z.number(),
  functions: z.number(),
  sequences: z.number(),
});

const candidate = z.object({ spec: z.string(), bytes: z.number(), ms: z.number() });

/** Why `compression` is what it is (absent in manifests before it was chosen per database). */
const compressionChoice = z.object({
  chosenBy: z.enum(["sample", "setting", "default"]),
  why: z.string(),
  sample: z
    .object({
      rawBytes: z.number(),
      tables: z.number(),
      readMs: z.number(),
      ms: z.number(),
      candidates: z.array(candidate),
    })
    .optional(),
});

const fileEntry = z.object({ name: z.string(), bytes: z.number(), sha256: z.string() });
export type FileEntry = z.infer<typeof fileEntry>;

export const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  /** Which setting gave the URL: DATABASE_URL_STAGING, DATABASE_URL (legacy), --url. */
  source: z.string(),
  /** The URL with its password masked. */
  target: z.string(),
  /** Which database was backed up (absent in manifests before restores compared it). */
  identity: databaseIdentitySchema.optional(),
  requestedBy: z.string(),
  tool: z.object({ name: z.literal("dbbackup"), version: z.string() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationsMs: z.record(z.string(), z.number()),
  server: z.object({ version: z.string(), versionNum: z.number(), major: z.number() }),
  client: z.object({ pgDump: z.string(), version: z.string(), major: z.number() }),
  compression: z.string(),
  compressionChoice: compressionChoice.optional(),
  lockWaitTimeoutSeconds: z.number(),
  snapshot: z.boolean(),
  files: z.array(fileEntry),
  totalBytes: z.number(),
  catalog: z.object({
    databaseBytes: z.number(),
    counts,
    extensions: z.array(z.object({ name: z.string(), version: z.string(), schema: z.string() })),
    views: z.number(),
    securityInvokerViews: z.number(),
    /** Views anon/authenticated may read without security_invoker=true (absent in older manifests). */
    exposedViews: z.array(z.string()).optional(),
    policiesByTable: z.record(z.string(), z.number()).optional(),
    tables: z.array(
      z.object({
        schema: z.string(),
        name: z.string(),
        partitioned: z.boolean(),
        rows: z.number(),
        exact: z.boolean(),
      }),
    ),
    /** Read just before pg_dump started (absent in manifests before restores compared them). */
    sequences: z.array(sequencePositionSchema).optional(),
    /** Functions, materialized views, triggers (absent in manifests before restores compared them). */
    objects: appObjectsSchema.optional(),
  }),
  toc: z.object({ entries: z.number(), counts: counts.extend({ tableData: z.number() }) }),
  verification: z.object({
    /** The highest stage passed; null when none did (such a backup is never renamed into place). */
    stage: z.enum(STAGES).nullable(),
    stages: z.array(stageResult),
    /** Written only by earlier dbbackup versions: re-verify results now live in the state (annotations). */
    lastVerify: verifyRecordSchema.optional(),
  }),
  warnings: z.array(z.string()),
  /** Written only by earlier dbbackup versions: pins now live in the state (annotations). */
  pin: pinSchema.optional(),
  /** Written only by earlier dbbackup versions: restore-test results now live in the state (annotations). */
  restoreTest: restoreTestRecordSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/**
 * Written once, when the backup is filed (still in its in-progress folder); never rewritten after.
 * What is learned later (pins, re-verify, restore tests) goes to the state: see state/annotations.ts.
 */
export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  writeFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
}

export class ManifestError extends Error {}

export async function readManifest(dir: string): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  const text = await readFile(file, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ManifestError(`${file} is not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ManifestError(
      `${file} does not match ${MANIFEST_SCHEMA}: ${first?.path.join(".")} ${first?.message}`,
    );
  }
  return parsed.data;
}

/** manifest.json's text → its data under `schema`, or why it isn't a dbbackup manifest. Pure. */
export function parseManifestText<T>(
  text: string,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): { data: T } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { reason: "manifest.json is not valid JSON" };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { data: parsed.data } : { reason: "manifest.json is not a dbbackup manifest" };
}
