import path from "node:path";
import { z } from "zod/v3";
import { JsonStore } from "./json-store.js";

const fileSchema = z.object({ sent: z.record(z.string()) });

/**
 * What the scheduled checks already told the channel, by key ("dead-man:prod:2026-11-23"), so a
 * check that runs every hour says a thing once. Keys older than 400 days are dropped on write.
 */
export class GuardrailMemory {
  private readonly store: JsonStore<z.infer<typeof fileSchema>>;

  constructor(root: string) {
    this.store = new JsonStore(path.join(root, ".state", "guardrails.json"), fileSchema, () => ({
      sent: {},
    }));
  }

  /** When `key` was last posted, if ever. */
  sentAt(key: string): Date | undefined {
    const at = this.store.read().sent[key];
    return at ? new Date(at) : undefined;
  }

  remember(key: string, now: Date): Promise<void> {
    const cutoff = now.getTime() - 400 * 86_400_000;
    return this.store.update((s) => ({
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
