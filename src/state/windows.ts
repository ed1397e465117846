import { randomBytes } from "node:crypto";
import { z } from "zod/v3";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

/** The urgency steps of a pre-upgrade nag: hours before the start, and "start" itself. */
export type NagLevel = `${number}h` | "start";

const windowSchema = z.object({
  id: z.string(),
  env: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  note: z.string().nullable(),
  declaredBy: z.string(),
  declaredAt: z.string(),
  cancelled: z.object({ by: z.string(), at: z.string() }).nullable(),
  /** Nag levels already posted (a level is posted once, and never a less urgent one after it). */
  nagsSent: z.array(z.string()),
  /** The pre-upgrade backup that covered it, once the channel was told. */
  covered: z.object({ backupId: z.string(), at: z.string() }).nullable(),
  /** A pre-upgrade backup that finished after the window began (not a cover), once the channel was told. */
  late: z.object({ backupId: z.string(), at: z.string() }).nullable().default(null),
  /** When the post-window diff was posted. */
  diffPostedAt: z.string().nullable(),
});
export type MaintenanceWindow = z.infer<typeof windowSchema>;

const windowsDoc: DocSpec<{ windows: MaintenanceWindow[] }> = {
  name: "windows",
  schema: z.object({ windows: z.array(windowSchema) }),
  empty: () => ({ windows: [] }),
};

export interface DeclareWindow {
  env: string;
  startsAt: string;
  lengthMs: number;
  note: string | null;
  declaredBy: string;
  now: Date;
}

/** Declared maintenance windows, in `.state/windows.json`. Finished ones stay a year, for the record. */
export class WindowStore {
  constructor(private readonly store: StateStore) {}

  async all(): Promise<MaintenanceWindow[]> {
    return (await this.store.read(windowsDoc)).windows;
  }

  /** Not cancelled and not yet done with (its diff not posted): what the scheduler looks after. */
  async open(): Promise<MaintenanceWindow[]> {
    return (await this.all()).filter((w) => w.cancelled === null && w.diffPostedAt === null);
  }

  declare(input: DeclareWindow): Promise<MaintenanceWindow> {
    const window: MaintenanceWindow = {
      id: `w${randomBytes(3).toString("hex")}`,
      env: input.env,
      startsAt: input.startsAt,
      endsAt: new Date(new Date(input.startsAt).getTime() + input.lengthMs).toISOString(),
      note: input.note,
      declaredBy: input.declaredBy,
      declaredAt: input.now.toISOString(),
      cancelled: null,
      nagsSent: [],
      covered: null,
      late: null,
      diffPostedAt: null,
    };
    const yearAgo = input.now.getTime() - 365 * 86_400_000;
    return updateDoc(this.store, windowsDoc, (s) => ({
      next: {
        windows: [...s.windows.filter((w) => new Date(w.endsAt).getTime() > yearAgo), window],
      },
      result: window,
    }));
  }

  /** Applies `change` to one window; undefined when there is no such window. */
  change(
    id: string,
    change: (w: MaintenanceWindow) => MaintenanceWindow,
  ): Promise<MaintenanceWindow | undefined> {
    return updateDoc(this.store, windowsDoc, (s) => {
      const found = s.windows.find((w) => w.id === id);
      if (!found) return { next: s, result: undefined };
      const next = change(found);
      return { next: { windows: s.windows.map((w) => (w.id === id ? next : w)) }, result: next };
    });
  }
}
