import { z } from "zod/v3";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

const memoryDoc: DocSpec<{ sent: Record<string, string> }> = {
  name: "guardrails",
  schema: z.object({ sent: z.record(z.string()) }),
  empty: () => ({ sent: {} }),
};

/**
 * What the scheduled checks already told the channel, by key ("dead-man:prod:2026-11-23"), so a
 * check that runs every hour says a thing once. Keys older than 400 days are dropped on write.
 */
export class GuardrailMemory {
  constructor(private readonly store: StateStore) {}

  /** When `key` was last posted, if ever. */
  async sentAt(key: string): Promise<Date | undefined> {
    const at = (await this.store.read(memoryDoc)).sent[key];
    return at ? new Date(at) : undefined;
  }

  remember(key: string, now: Date): Promise<void> {
    const cutoff = now.getTime() - 400 * 86_400_000;
    return updateDoc(this.store, memoryDoc, (s) => ({
      next: {
        sent: {
          ...Object.fromEntries(Object.entries(s.sent).filter(([, at]) => new Date(at).getTime() > cutoff)),
          [key]: now.toISOString(),
        },
      },
      result: undefined,
    }));
  }
}
