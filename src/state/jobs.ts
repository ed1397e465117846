import { z } from "zod/v3";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

const jobSchema = z.object({
  id: z.string(),
  env: z.string(),
  label: z.string().nullable(),
  requestedBy: z.string(),
  approvedBy: z.string().nullable(),
  startedAt: z.string(),
  /** The instance running it: the job is alive exactly as long as that instance's lease. */
  instance: z.string(),
  /** Hints for messages only; never proof of life. */
  pid: z.number().int(),
  host: z.string(),
  channel: z.string().nullable(),
  ts: z.string().nullable(),
});
export type Job = z.infer<typeof jobSchema>;

const jobsDoc: DocSpec<{ running: Job[] }> = {
  name: "jobs",
  // Records of an older dbbackup (a pid, no instance) can't be judged: they are dropped on read.
  schema: z.object({
    running: z
      .array(z.unknown())
      .transform((items) => items.flatMap((item) => jobSchema.safeParse(item).data ?? [])),
  }),
  empty: () => ({ running: [] }),
};

/**
 * Backups the bot runs, in the state: when an instance dies, the next sweep (any bot, any host
 * sharing the state) finds its jobs, marks them interrupted and tells the channel, once.
 */
export class JobStore {
  constructor(private readonly store: StateStore) {}

  add(job: Omit<Job, "instance" | "pid" | "host">): Promise<Job> {
    this.store.holdLease("bot");
    const me = this.store.instance();
    const record: Job = { ...job, instance: me.id, pid: me.pid, host: me.host };
    return updateDoc(this.store, jobsDoc, (s) => ({
      next: { running: [...s.running, record] },
      result: record,
    }));
  }

  setMessage(id: string, channel: string, ts: string): Promise<void> {
    return updateDoc(this.store, jobsDoc, (s) => ({
      next: { running: s.running.map((j) => (j.id === id ? { ...j, channel, ts } : j)) },
      result: undefined,
    }));
  }

  /** This instance's record of the job (another bot may have taken the job over under the same id). */
  remove(id: string): Promise<void> {
    const me = this.store.instance().id;
    return updateDoc(this.store, jobsDoc, (s) => ({
      next: { running: s.running.filter((j) => j.id !== id || j.instance !== me) },
      result: undefined,
    }));
  }

  /** Jobs whose instance is dead, taken off the record in one step: whoever takes one tells its story. */
  async claimOrphans(): Promise<Job[]> {
    const { running } = await this.store.read(jobsDoc);
    const dead = new Set<string>();
    for (const instance of new Set(running.map((j) => j.instance))) {
      if ((await this.store.liveness(instance)).state === "dead") dead.add(instance);
    }
    if (dead.size === 0) return [];
    return updateDoc(this.store, jobsDoc, async (s) => {
      const orphans: Job[] = [];
      for (const job of s.running) {
        if (dead.has(job.instance) && (await this.store.liveness(job.instance)).state === "dead")
          orphans.push(job);
      }
      return {
        next: orphans.length > 0 ? { running: s.running.filter((j) => !orphans.includes(j)) } : s,
        result: orphans,
      };
    });
  }

  async list(): Promise<Job[]> {
    return (await this.store.read(jobsDoc)).running;
  }
}
