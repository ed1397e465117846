import { readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod/v3";
import type { StateStore } from "../state/store.js";
import { SCRATCH_OWNER_FILE, SCRATCH_PREFIX } from "./scratch-owner.js";

const ownerSchema = z.object({ instance: z.string(), state: z.string() });

/** The postmaster of a scratch folder, if it runs here: its pid, checked against its command line. */
function localPostmaster(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(path.join(dir, "data")) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Scratch servers of restore tests whose run died (its instance is dead) and that belong to this
 * state: a server still running here is stopped at once (SIGQUIT), and the folder removed.
 * Folders of live runs, of other states and of no known owner are left alone.
 */
export async function sweepScratchServers(store: StateStore, tmp = os.tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(SCRATCH_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = path.join(tmp, name);
    let owner: z.infer<typeof ownerSchema>;
    try {
      owner = ownerSchema.parse(JSON.parse(readFileSync(path.join(dir, SCRATCH_OWNER_FILE), "utf8")));
    } catch {
      continue;
    }
    if (owner.state !== store.location) continue;
    if ((await store.liveness(owner.instance)).state !== "dead") continue;
    const pid = localPostmaster(dir);
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGQUIT");
      } catch {
        // gone meanwhile
      }
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
