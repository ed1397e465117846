import path from "node:path";
import { z } from "zod/v3";
import { JsonStore } from "./json-store.js";

const jobSchema = z.object({
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  requestedBy: z.string(),
  approvedBy: z.string().nullable(),
  startedAt: z.string(),
  pid: z.number().int(),
  channel: z.string().nullable(),
  ts: z.string().nullable(),
});
export type Job = z.infer<typeof jobSchema>;
const fileSchema = z.object({ running: z.array(jobSchema) });

/**
 * Backups the bot is running, on disk: after a crash or restart the next start finds what was
 * running, marks it interrupted and tells the channel.
 */
export class JobStore {
  private readonly store: JsonStore<z.infer<typeof fileSchema>>;

  constructor(backupsDir: string) {
    this.store = new JsonStore(path.join(backupsDir, ".state", "jobs.json"), fileSchema, () => ({
      running: [],
    }));
  }

  add(job: Job): Promise<void> {
    return this.store.update((s) => ({ next: { running: [...s.running, job] }, result: undefined }));
  }

  setMessage(id: string, channel: string, ts: string): Promise<void> {
    return this.store.update((s) => ({
      next: { running: s.running.map((j) => (j.id === id ? { ...j, channel, ts } : j)) },
      result: undefined,
    }));
  }

  remove(id: string): Promise<void> {
    return this.store.update((s) => ({
      next: { running: s.running.filter((j) => j.id !== id) },
      result: undefined,
    }));
  }

  /** Jobs left by an earlier process (any pid but ours): taken off the list and returned. */
  takeOrphans(pid = process.pid): Promise<Job[]> {
    return this.store.update((s) => ({
      next: { running: s.running.filter((j) => j.pid === pid) },
      result: s.running.filter((j) => j.pid !== pid),
    }));
  }

  list(): Job[] {
    return this.store.read().running;
  }
}
