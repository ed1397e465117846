import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod/v3";
import { DbBackupError } from "../errors.js";
import { uniqueTempName, writeFileAtomic } from "./atomic-file.js";
import { currentInstance, processStartOf } from "./instance.js";

const GENERATION = /^\d{12}$/;

const holderSchema = z.object({
  state: z.enum(["held", "released"]),
  instance: z.string(),
  pid: z.number().int(),
  host: z.string(),
  bootId: z.string().nullable(),
  pidNamespace: z.string().nullable(),
  processStart: z.string().nullable(),
  expiresAt: z.number(),
});
type Holder = z.infer<typeof holderSchema>;

export interface MutexHold {
  generation: number;
  expiresAt: number;
  /** Throws when the hold is too close to its expiry to write safely (the process stalled inside). */
  check(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Mutual exclusion across processes (and, through a queue, within this one) for short critical
 * sections, on any local filesystem, with no lock that outlives a killed holder for more than its
 * lease.
 *
 * Holds are numbered files in one folder, each created whole and exclusively with link(2). The
 * highest number is the current hold: "held" until it is marked "released" or its lease expires (or
 * its process is provably gone). Taking a free or expired hold means creating the next number, which
 * only one contender can; the winner then checks that nobody created a higher one meanwhile, and
 * removes the lower ones. Because the highest file is never removed, a slow contender can't recreate
 * a number that was already used and believe it holds the lock.
 */
export class FileMutex {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly options: { leaseMs: number; waitMs: number },
  ) {}

  run<R>(fn: (hold: MutexHold) => Promise<R>): Promise<R> {
    const next = this.queue.then(async () => {
      const hold = await this.acquire();
      try {
        return await fn(hold);
      } finally {
        this.release(hold);
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }

  private file(generation: number): string {
    return path.join(this.dir, String(generation).padStart(12, "0"));
  }

  private generations(): number[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      names = [];
    }
    return names
      .filter((n) => GENERATION.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  private read(generation: number): Holder | undefined {
    try {
      const parsed = holderSchema.safeParse(JSON.parse(readFileSync(this.file(generation), "utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private free(holder: Holder, now: number): boolean {
    if (holder.state === "released" || holder.expiresAt <= now) return true;
    const me = currentInstance();
    // Same boot and PID namespace: a vanished process can't be holding it, whatever its lease says.
    if (holder.bootId !== null && holder.bootId === me.bootId && holder.pidNamespace === me.pidNamespace) {
      const start = processStartOf(holder.pid);
      return start === null || (holder.processStart !== null && start !== holder.processStart);
    }
    return false;
  }

  private async acquire(): Promise<MutexHold> {
    const deadline = Date.now() + this.options.waitMs;
    let delay = 1;
    let lastHolder: Holder | undefined;
    for (;;) {
      const top = this.generations().at(-1) ?? 0;
      if (top > 0) {
        const holder = this.read(top);
        // Missing: removed between listing and reading by a newer holder; look again.
        if (holder && !this.free(holder, Date.now())) {
          lastHolder = holder;
          if (Date.now() > deadline) throw this.busy(lastHolder);
          await sleep(delay + Math.random() * delay);
          delay = Math.min(delay * 2, 50);
          continue;
        }
        if (!holder && Date.now() > deadline) throw this.busy(lastHolder);
      }
      const generation = top + 1;
      const me = currentInstance();
      const expiresAt = Date.now() + this.options.leaseMs;
      const record: Holder = {
        state: "held",
        instance: me.id,
        pid: me.pid,
        host: me.host,
        bootId: me.bootId,
        pidNamespace: me.pidNamespace,
        processStart: me.processStart,
        expiresAt,
      };
      const tmp = uniqueTempName(this.file(generation));
      try {
        writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
        linkSync(tmp, this.file(generation));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue; // another contender won it
        throw stateWriteError(this.dir, error);
      } finally {
        rmSync(tmp, { force: true });
      }
      const after = this.generations();
      if (after.some((g) => g > generation)) {
        // We recreated a number a newer holder had already cleaned up: theirs stands.
        rmSync(this.file(generation), { force: true });
        continue;
      }
      for (const g of after) if (g < generation) rmSync(this.file(g), { force: true });
      const margin = this.options.leaseMs / 4;
      return {
        generation,
        expiresAt,
        check: () => {
          if (Date.now() > expiresAt - margin) {
            throw new DbBackupError(
              "state_lock_lost",
              `dbbackup stalled for over ${Math.round(this.options.leaseMs / 1000)} s while changing its state in ${this.dir}; nothing was written.`,
              "Run the command again; if it repeats, the machine is overloaded or the disk is hanging.",
            );
          }
        },
      };
    }
  }

  private release(hold: MutexHold): void {
    const current = this.read(hold.generation);
    if (!current || current.instance !== currentInstance().id) return;
    try {
      writeFileAtomic(this.file(hold.generation), JSON.stringify({ ...current, state: "released" }));
    } catch {
      // Unwritable (disk full): the hold simply expires with its lease.
    }
  }

  private busy(holder: Holder | undefined): DbBackupError {
    const who = holder
      ? ` by pid ${holder.pid} on ${holder.host} (instance ${holder.instance.slice(0, 8)})`
      : "";
    return new DbBackupError(
      "state_busy",
      `dbbackup's state in ${this.dir} stayed locked${who} for ${Math.round(this.options.waitMs / 1000)} s.`,
      "Another dbbackup process is stuck changing it; its lock expires by itself. Run again in a minute.",
    );
  }
}

/** A state write the disk refused, in words a person can act on. */
export function stateWriteError(where: string, error: unknown): DbBackupError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new DbBackupError(
      "disk_full",
      `The disk holding ${where} is full: dbbackup could not record its state, and changed nothing.`,
      "Free space there (dbbackup prune, or delete old files), then run again.",
      { cause: error },
    );
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new DbBackupError(
      "state_unwritable",
      `dbbackup may not write its state in ${where} (${code}).`,
      "Run as the user that owns the backups folder, or fix its permissions.",
      { cause: error },
    );
  }
  return new DbBackupError(
    "state_write_failed",
    `dbbackup could not write its state in ${where}: ${(error as Error).message}`,
    "Check the disk, then run again.",
    { cause: error },
  );
}
