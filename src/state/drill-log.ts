import { z } from "zod/v3";
import type { StateStore } from "./store.js";

/** Every restore test, one JSON line each: who ran it, when, on which backup, how it went. */
export const drillSchema = z.object({
  at: z.string(),
  by: z.string(),
  backupId: z.string(),
  env: z.string(),
  ok: z.boolean(),
  ms: z.number(),
  serverMajor: z.number(),
  summary: z.string(),
  /** The folder tested. */
  dir: z.string().optional(),
  /** The sha256 of the dump that was restored (absent when the files no longer matched). */
  dumpSha256: z.string().optional(),
  /**
   * False for a folder other than the backups folder's own `<id>` (a copy elsewhere): such a drill is
   * logged, but counts for no backup and no env. Absent in lines written by earlier versions.
   */
  ofBackup: z.boolean().optional(),
});
export type Drill = z.infer<typeof drillSchema>;

export function appendDrill(store: StateStore, drill: Drill): Promise<void> {
  return store.append("drills", drillSchema.parse(drill));
}

/** Oldest first; a damaged line is skipped, never fatal. */
export async function readDrills(store: StateStore): Promise<Drill[]> {
  return (await store.readLog("drills")).flatMap((record) => {
    const parsed = drillSchema.safeParse(record);
    return parsed.success ? [parsed.data] : [];
  });
}
