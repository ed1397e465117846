import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod/v3";
import { readLock } from "./env-lock.js";
import { isBackupId } from "./ids.js";
import { MANIFEST_FILE, parseManifestText, STAGES } from "./manifest.js";
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
  pin: z.object({ reason: z.string(), by: z.string(), at: z.string() }).optional(),
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
  /** Set by `dbbackup keep`: prune never deletes it. */
  pin?: { reason: string; by: string; at: string };
}

export interface Listing {
  backups: BackupSummary[];
  /** Folders that look like backups but whose manifest can't be read: never counted as backups. */
  unreadable: { dir: string; reason: string }[];
  /** Runs in progress now (from the env locks). */
  running: { env: string; id: string; requestedBy: string; startedAt: string }[];
}

type StoredSummary = Omit<BackupSummary, "dir">;

/** Synchronous on purpose: a thousand tiny reads cost less than a thousand promise round trips. */
function readSummary(dir: string): StoredSummary | { reason: string } {
  let text: string;
  try {
    text = readFileSync(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return { reason: "no manifest.json" };
  }
  const parsed = parseManifestText(text, summarySchema);
  if ("reason" in parsed) return parsed;
  const m = parsed.data;
  return {
    id: m.id,
    env: m.env,
    label: m.label,
    requestedBy: m.requestedBy,
    finishedAt: m.finishedAt,
    totalBytes: m.totalBytes,
    serverVersion: m.server.version,
    stage: m.verification.stage,
    ...(m.verification.lastVerify ? { lastVerify: m.verification.lastVerify } : {}),
    ...(m.pin ? { pin: m.pin } : {}),
  };
}

const storedSummarySchema = z.object({
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  requestedBy: z.string(),
  finishedAt: z.string(),
  totalBytes: z.number(),
  serverVersion: z.string(),
  stage: z.enum(STAGES).nullable(),
  lastVerify: z.object({ at: z.string(), ok: z.boolean() }).optional(),
  pin: z.object({ reason: z.string(), by: z.string(), at: z.string() }).optional(),
});
const indexSchema = z.object({
  schema: z.literal("dbbackup.list-index/1"),
  entries: z.record(
    z.string(),
    z.object({ mtimeMs: z.number(), size: z.number(), summary: storedSummarySchema }),
  ),
});
type ListIndex = z.infer<typeof indexSchema>;
const INDEX_FILE = ".list-index.json";

/**
 * A cache of manifest summaries, trusted only while a manifest's mtime and size are unchanged: one
 * small file instead of a thousand manifests to parse. Lost or corrupt, it is simply rebuilt.
 */
function readIndex(root: string): ListIndex["entries"] {
  try {
    const parsed = indexSchema.safeParse(JSON.parse(readFileSync(path.join(root, INDEX_FILE), "utf8")));
    return parsed.success ? parsed.data.entries : {};
  } catch {
    return {};
  }
}

function writeIndex(root: string, entries: ListIndex["entries"]): void {
  const file = path.join(root, INDEX_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, JSON.stringify({ schema: "dbbackup.list-index/1", entries } satisfies ListIndex));
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true }); // read-only backups folder: list still works, just slower
  }
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
  const present = new Set(names);
  const cached = readIndex(root);
  const entries: ListIndex["entries"] = {};
  for (const [name, entry] of Object.entries(cached)) if (present.has(name)) entries[name] = entry;
  let changed = Object.keys(entries).length !== Object.keys(cached).length;
  const backups: BackupSummary[] = [];
  const unreadable: Listing["unreadable"] = [];
  for (const name of candidates) {
    const dir = path.join(root, name);
    let stats: { mtimeMs: number; size: number };
    try {
      stats = statSync(path.join(dir, MANIFEST_FILE));
    } catch {
      unreadable.push({ dir, reason: "no manifest.json" });
      if (entries[name]) changed = true;
      delete entries[name];
      continue;
    }
    const hit = entries[name];
    if (hit && hit.mtimeMs === stats.mtimeMs && hit.size === stats.size) {
      backups.push({ ...hit.summary, dir });
      continue;
    }
    const summary = readSummary(dir);
    changed = true;
    if ("reason" in summary) {
      unreadable.push({ dir, reason: summary.reason });
      delete entries[name];
      continue;
    }
    entries[name] = { mtimeMs: stats.mtimeMs, size: stats.size, summary };
    backups.push({ ...summary, dir });
  }
  if (changed) writeIndex(root, entries);
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
