import { lstat, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { type Annotation, readAnnotations } from "../state/annotations.js";
import type { StateStore } from "../state/store.js";
import { backupFacts } from "./backup-facts.js";
import { parseBackupId } from "./ids.js";
import { MANIFEST_FILE, type Manifest, manifestSchema, parseManifestText } from "./manifest.js";
import type { RetentionBackup } from "./retention.js";

/** The backups folder as retention and the verbs that change a backup read it: what is a backup, what isn't. */

export interface FoundBackup extends RetentionBackup {
  dir: string;
  totalBytes: number;
}

/** Something in the backups folder that is not a dbbackup backup: never touched, only reported. */
export interface IgnoredEntry {
  name: string;
  reason: string;
}

export interface FoundBackups {
  backups: FoundBackup[];
  ignored: IgnoredEntry[];
}

/** A backup as retention sees it: its manifest, with pins and results from the state laid over it. */
export function toRetentionBackup(m: Manifest, annotation: Annotation | undefined): RetentionBackup {
  const facts = backupFacts(m, annotation);
  return {
    id: m.id,
    env: m.env,
    label: m.label,
    target: m.target,
    stage: facts.stage,
    ...(facts.lastVerify ? { lastVerify: { ok: facts.lastVerify.ok, at: facts.lastVerify.at } } : {}),
    ...(facts.restoreTest ? { restoreTest: { ok: facts.restoreTest.ok, at: facts.restoreTest.at } } : {}),
    ...(facts.pin ? { pin: facts.pin } : {}),
  };
}

/**
 * The manifest of a folder, if it is a dbbackup backup: a real folder (not a link), a manifest.json
 * that parses with the manifest schema, and whose id, env and label are the folder's name.
 */
export async function readBackupFolder(
  root: string,
  name: string,
): Promise<{ manifest: Manifest } | { reason: string }> {
  const parsed = parseBackupId(name);
  if (!parsed) return { reason: "the name is not a backup id (YYYYMMDD_HHMMSS_env[_label])" };
  const dir = path.join(root, name);
  try {
    const stats = await lstat(dir);
    if (stats.isSymbolicLink()) return { reason: "a symbolic link, not a backup folder" };
    if (!stats.isDirectory()) return { reason: "not a folder" };
  } catch {
    return { reason: "gone" };
  }
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return { reason: "no manifest.json" };
  }
  const result = parseManifestText(text, manifestSchema);
  if ("reason" in result) return result;
  const m = result.data;
  if (m.id !== name) return { reason: `manifest.json is for ${JSON.stringify(m.id)}, not this folder` };
  if (m.env !== parsed.env || m.label !== (parsed.label ?? null)) {
    return { reason: "manifest.json's env or label differ from the folder name" };
  }
  return { manifest: m };
}

/**
 * Every dbbackup backup under root (of one env, if given), and everything else that is there,
 * with why it is not a backup. Hidden entries (`.locks`, `.logs`, in-progress runs) are dbbackup's
 * own and not reported; folders named as another env's backups are out of scope and not reported.
 */
export async function findBackups(root: string, store: StateStore, env?: string): Promise<FoundBackups> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return { backups: [], ignored: [] };
  }
  const annotations = await readAnnotations(store);
  const backups: FoundBackup[] = [];
  const ignored: IgnoredEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    const parsed = parseBackupId(name);
    if (env !== undefined && parsed && parsed.env !== env) continue;
    const found = await readBackupFolder(root, name);
    if ("reason" in found) {
      ignored.push({ name, reason: found.reason });
      continue;
    }
    const m = found.manifest;
    backups.push({
      ...toRetentionBackup(m, annotations[name]),
      dir: path.join(root, name),
      totalBytes: m.totalBytes,
    });
  }
  return { backups, ignored };
}
