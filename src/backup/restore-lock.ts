import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod/v3";
import { isLockLive } from "./env-lock.js";

/**
 * A restore test marks the backup it reads, so retention never deletes it mid-test:
 * `<root>/.locks/restore-test-<id>.json`, like the env locks (pid, host, who, when).
 */
const usageSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  requestedBy: z.string(),
  startedAt: z.string(),
  id: z.string(),
});

const PREFIX = "restore-test-";

function usagePath(root: string, id: string): string {
  return path.join(root, ".locks", `${PREFIX}${id}.json`);
}

export function markInUse(root: string, id: string, requestedBy: string): { release(): void } {
  const file = usagePath(root, id);
  mkdirSync(path.dirname(file), { recursive: true });
  const info = {
    pid: process.pid,
    host: os.hostname(),
    requestedBy,
    startedAt: new Date().toISOString(),
    id,
  };
  writeFileSync(file, JSON.stringify(info));
  return { release: () => rmSync(file, { force: true }) };
}

/** Ids of backups a live restore test is reading now. */
export function backupsInUse(root: string): Set<string> {
  const ids = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(path.join(root, ".locks"));
  } catch {
    return ids;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX) || !name.endsWith(".json")) continue;
    try {
      const info = usageSchema.parse(JSON.parse(readFileSync(path.join(root, ".locks", name), "utf8")));
      if (isLockLive(info)) ids.add(info.id);
    } catch {
      // unreadable marker: ignore
    }
  }
  return ids;
}
