import { lstatSync, readFileSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod/v3";
import {
  pinSchema,
  readAnnotations,
  restoreTestRecordSchema,
  verifyRecordSchema,
} from "../state/annotations.js";
import { writeFileAtomic } from "../state/atomic-file.js";
import { listLocks } from "../state/locks.js";
import type { StateStore } from "../state/store.js";
import { backupFacts } from "./backup-facts.js";
import { envOfLock } from "./env-lock.js";
import { isBackupId } from "./ids.js";
import { MANIFEST_FILE, parseManifestText, STAGES } from "./manifest.js";

/** A restore test as `list` keeps it: without its parity table. */
const restoreTestSummarySchema = restoreTestRecordSchema.omit({ parity: true });

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
    lastVerify: verifyRecordSchema.optional(),
  }),
  pin: pinSchema.optional(),
  restoreTest: restoreTestSummarySchema.optional(),
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
  /** The latest restore test (stage 3), passed or failed: when, by whom, how long. */
  restoreTest?: { at: string; ok: boolean; by: string; ms: number };
  /** Its off-site copy: proven (when), or why the last try failed. */
  offsite?: { ok: boolean; at: string; why?: string };
  /** Filed on another host (a worker, another replica): its hostname; its folder is there, not here. */
  host?: string;
}

export interface Listing {
  backups: BackupSummary[];
  /** Entries that look like backups but aren't (no readable manifest, a symbolic link): never counted. */
  unreadable: { dir: string; reason: string }[];
  /** Runs in progress now (from the env locks of live instances). */
  running: { env: string; id: string; requestedBy: string; startedAt: string }[];
}

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
    ...(m.restoreTest ? { restoreTest: m.restoreTest } : {}),
  };
}

/** A backup as any host lists it: what the shared catalog records of each (see shared-catalog.ts). */
export const summaryCoreSchema = z.object({
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  requestedBy: z.string(),
  finishedAt: z.string(),
  totalBytes: z.number(),
  serverVersion: z.string(),
  stage: z.enum(STAGES).nullable(),
});

const storedSummarySchema = summaryCoreSchema.extend({
  lastVerify: verifyRecordSchema.optional(),
  pin: pinSchema.optional(),
  restoreTest: restoreTestSummarySchema.optional(),
});
/** What the manifest says, before the state's annotations are laid over it. */
type StoredSummary = z.infer<typeof storedSummarySchema>;
const indexSchema = z.object({
  schema: z.literal("dbbackup.list-index/2"),
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
  try {
    writeFileAtomic(
      path.join(root, INDEX_FILE),
      JSON.stringify({ schema: "dbbackup.list-index/2", entries } satisfies ListIndex),
      0o644,
    );
  } catch {
    // read-only backups folder: list still works, just slower
  }
}

/** The summary as it stands now: the manifest's, with pins, re-verifies and restore tests from the state. */
function withFacts(
  summary: StoredSummary,
  dir: string,
  annotation: Parameters<typeof backupFacts>[1],
): BackupSummary {
  const { lastVerify: _v, pin: _p, restoreTest: _r, ...rest } = summary;
  const facts = backupFacts(
    {
      verification: { stage: summary.stage, lastVerify: summary.lastVerify },
      pin: summary.pin,
      restoreTest: summary.restoreTest,
    },
    annotation,
  );
  const offsite = annotation?.offsite;
  return {
    ...rest,
    dir,
    stage: facts.stage,
    ...(offsite
      ? {
          offsite: {
            ok: offsite.ok,
            at: offsite.provenAt ?? offsite.at,
            ...(offsite.why ? { why: offsite.why } : {}),
          },
        }
      : {}),
    ...(facts.lastVerify ? { lastVerify: { at: facts.lastVerify.at, ok: facts.lastVerify.ok } } : {}),
    ...(facts.pin ? { pin: facts.pin } : {}),
    ...(facts.restoreTest
      ? {
          restoreTest: {
            at: facts.restoreTest.at,
            ok: facts.restoreTest.ok,
            by: facts.restoreTest.by,
            ms: facts.restoreTest.ms,
          },
        }
      : {}),
  };
}

/**
 * Every backup under root, per env (alphabetical), newest first within each: manifests, with what the
 * state learned since. A symbolic link is never a backup (it could point anywhere): reported, not read.
 */
export async function listBackups(root: string, store: StateStore, env?: string): Promise<Listing> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { backups: [], unreadable: [], running: [] };
  }
  const annotations = await readAnnotations(store);
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
      if (lstatSync(dir).isSymbolicLink()) {
        unreadable.push({
          dir,
          reason: "a symbolic link, not a backup folder (dbbackup never follows them)",
        });
        if (entries[name]) changed = true;
        delete entries[name];
        continue;
      }
      stats = statSync(path.join(dir, MANIFEST_FILE));
    } catch {
      unreadable.push({ dir, reason: "no manifest.json" });
      if (entries[name]) changed = true;
      delete entries[name];
      continue;
    }
    const hit = entries[name];
    if (hit && hit.mtimeMs === stats.mtimeMs && hit.size === stats.size) {
      backups.push(withFacts(hit.summary, dir, annotations[name]));
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
    backups.push(withFacts(summary, dir, annotations[name]));
  }
  if (changed) writeIndex(root, entries);
  backups.sort((a, b) => (a.env === b.env ? b.id.localeCompare(a.id) : a.env.localeCompare(b.env)));
  const running: Listing["running"] = [];
  for (const lock of await listLocks(store)) {
    const e = envOfLock(lock.name);
    if (e === undefined || lock.liveness.state === "dead" || (env !== undefined && e !== env)) continue;
    running.push({ env: e, id: lock.what, requestedBy: lock.requestedBy, startedAt: lock.startedAt });
  }
  return { backups, unreadable, running };
}
