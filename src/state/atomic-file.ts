import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

let counter = 0;
const processTag = randomBytes(6).toString("hex");

/**
 * A temporary name no other writer shares, in this process or another: a random tag per process and
 * a counter per write (a pid alone is shared by every write of one process, and reused by containers).
 */
export function uniqueTempName(file: string): string {
  counter += 1;
  return path.join(path.dirname(file), `.${path.basename(file)}.${processTag}-${counter}.tmp`);
}

/**
 * Replaces `file` whole: a reader sees the old text or the new one, never half of one, and a crash
 * leaves one of the two. Not a lock: two writers still need one held across their read-modify-write.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o600, createDirs = true): void {
  if (createDirs) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = uniqueTempName(file);
  try {
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
