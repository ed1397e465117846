import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { readLock } from "./env-lock.js";
import { isBackupId } from "./ids.js";
import { MANIFEST_FILE, STAGES } from "./manifest.js";
import { IN_PROGRESS_PREFIX } from "./work-dirs.js";

/** Just what `list` needs from a manifest: parsing less keeps 1,000 backups well under 200 ms. */
const summarySchema = z.object({
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  requestedBy: z.string(),
  finishedAt: z.string(),
  totalBytes: z.number(),
  server: z.object({ version: z.string(), major: z.number() }),
  verification: z.object({
    stage: z.enum(STAGES).nullable(),
    lastVerify: z.object({ at: z.string(), ok: z.boolean() }).optional(),
  }),
});

export interface BackupSummary {
  id: string;
  env: string;
  label: string | null;
  dir: string;
  requestedBy: string;
  finishedAt: string;
  totalBytes: number;
  serverVersion: string;
  stage: (typeof STAGES)[number] | null;
  /** The latest `verify` re-check, when one ran. */
  lastVerify?: { at: string; ok: boolean };
}

export interface Listing {
  backups: BackupSummary[];
  /** Folders that look like backups but whose manifest can't be read: never counted as backups. */
  unreadable: { dir: string; reason: string }[];
  /** Runs in progress now (from the env locks). */
  running: { env: string; id: string; requestedBy: string; startedAt: string }[];
}

/** Synchronous on purpose: a thousand tiny reads cost less than a thousand promise round trips. */
function readSummary(root: string, name: string): BackupSummary | { dir: string; reason: string } {
  const dir = path.join(root, name);
  let text: string;
  try {
    text = readFileSync(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return { dir, reason: "no manifest.json" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { dir, reason: "manifest.json is not valid JSON" };
  }
  const parsed = summarySchema.safeParse(json);
  if (!parsed.success) return { dir, reason: "manifest.json is not a dbbackup manifest" };
  const m = parsed.data;
  return {
    id: m.id,
    env: m.env,
    label: m.label,
    dir,
    requestedBy: m.requestedBy,
    finishedAt: m.finishedAt,
    totalBytes: m.totalBytes,
    serverVersion: m.server.version,
    stage: m.verification.stage,
    ...(m.verification.lastVerify ? { lastVerify: m.verification.lastVerify } : {}),
  };
}

/** Every backup under root, per env (alphabetical), newest first within each. Reads manifests only. */
export async function listBackups(root: string, env?: string): Promise<Listing> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { backups: [], unreadable: [], running: [] };
  }
  const candidates = names.filter((n) => isBackupId(n) && (env === undefined || n.split("_")[2] === env));
  const results = candidates.map((n) => readSummary(root, n));
  const backups: BackupSummary[] = [];
  const unreadable: Listing["unreadable"] = [];
  for (const r of results) {
    if ("id" in r) backups.push(r);
    else unreadable.push(r);
  }
  backups.sort((a, b) => (a.env === b.env ? b.id.localeCompare(a.id) : a.env.localeCompare(b.env)));
  const running: Listing["running"] = [];
  const inProgressEnvs = new Set(
    names
      .filter((n) => n.startsWith(IN_PROGRESS_PREFIX))
      .map((n) => n.slice(IN_PROGRESS_PREFIX.length).split("_")[2]),
  );
  for (const e of inProgressEnvs) {
    if (!e || (env !== undefined && e !== env)) continue;
    const lock = readLock(root, e);
    if (lock) running.push({ env: e, id: lock.id, requestedBy: lock.requestedBy, startedAt: lock.startedAt });
  }
  return { backups, unreadable, running };
}
