import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { z } from "zod/v3";

/**
 * A small JSON document on disk: read whole, changed under one in-process queue, written with a
 * temp file and rename, so a crash leaves the old state or the new one and never half of one.
 * One bot process owns it; the queue makes every update an atomic compare-and-set within it.
 */
export class JsonStore<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    private readonly empty: () => T,
  ) {}

  read(): T {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch {
      return this.empty();
    }
    const parsed = this.schema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(`${this.file} is damaged: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  }

  /** `change` sees the current state and returns the next one (or the same, to write nothing) and a value. */
  update<R>(change: (state: T) => { next: T; result: R }): Promise<R> {
    const run = this.queue.then(() => {
      const { next, result } = change(this.read());
      this.write(next);
      return result;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private write(state: T): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
