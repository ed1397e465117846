import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DbBackupError } from "../errors.js";
import { writeFileAtomic } from "./atomic-file.js";
import { FileMutex, stateWriteError } from "./file-mutex.js";
import {
  currentInstance,
  type InstanceIdentity,
  judgeLiveness,
  LeaseFile,
  type Liveness,
  localProbe,
  readLeaseRecord,
  releaseLeasesOnExit,
} from "./instance.js";
import type { DocSpec, LogName, StateStore, StateTx } from "./store.js";

export const STATE_DIR = ".state";
/** How long a state change may keep the others waiting if its process dies inside it. */
const MUTEX_LEASE_MS = 15_000;
const MUTEX_WAIT_MS = 45_000;

export interface FileStateOptions {
  /** An instance's lease: how long after its last renewal a dead process's locks are taken over. */
  leaseMs: number;
}

/**
 * The state in files under `<backups>/.state/`: documents replaced whole (unique temporary name, then
 * rename) inside one cross-process mutex, append-only logs written a line per write(2), request
 * claims as exclusively created files, and one lease file per instance, written only by its holder.
 */
export class FileStateStore implements StateStore {
  readonly location: string;
  private readonly mutex: FileMutex;
  private lease: LeaseFile | undefined;
  private readonly lostListeners = new Set<(why: string) => void>();

  constructor(
    readonly root: string,
    private readonly options: FileStateOptions,
  ) {
    this.location = path.join(root, STATE_DIR);
    this.mutex = new FileMutex(path.join(this.location, "mutex"), {
      leaseMs: MUTEX_LEASE_MS,
      waitMs: MUTEX_WAIT_MS,
    });
  }

  instance(): InstanceIdentity {
    return currentInstance();
  }

  private docFile(name: string): string {
    return path.join(this.location, `${name}.json`);
  }

  private readNow<T>(doc: DocSpec<T>): T {
    let text: string;
    try {
      text = readFileSync(this.docFile(doc.name), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return doc.empty();
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = doc.schema.safeParse(json);
    if (!parsed.success) {
      throw new DbBackupError(
        "state_damaged",
        `${this.docFile(doc.name)} is damaged (${json === undefined ? "not JSON" : (parsed.error.issues[0]?.message ?? "invalid")}); dbbackup never writes it that way, so it was edited or the disk failed.`,
        `Move it aside (mv ${this.docFile(doc.name)} ${this.docFile(doc.name)}.damaged) and dbbackup starts it afresh; what it held is in the moved file.`,
      );
    }
    return parsed.data;
  }

  async read<T>(doc: DocSpec<T>): Promise<T> {
    return this.readNow(doc);
  }

  transact<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    return this.mutex.run(async (hold) => {
      const staged = new Map<string, { doc: DocSpec<unknown>; value: unknown }>();
      const tx: StateTx = {
        read: async <T>(doc: DocSpec<T>): Promise<T> => {
          const pending = staged.get(doc.name);
          return pending ? (pending.value as T) : this.readNow(doc);
        },
        write: async <T>(doc: DocSpec<T>, value: T): Promise<void> => {
          staged.set(doc.name, { doc: doc as DocSpec<unknown>, value: doc.schema.parse(value) });
        },
      };
      const result = await fn(tx);
      // Nothing is written when fn throws; when it returns, everything it wrote is.
      hold.check();
      for (const { doc, value } of staged.values()) {
        try {
          writeFileAtomic(this.docFile(doc.name), `${JSON.stringify(value, null, 2)}\n`);
        } catch (error) {
          throw stateWriteError(this.location, error);
        }
      }
      return result;
    });
  }

  private logFile(log: LogName): string {
    return path.join(this.location, `${log}.jsonl`);
  }

  async append(log: LogName, record: Record<string, unknown>): Promise<void> {
    try {
      mkdirSync(this.location, { recursive: true, mode: 0o700 });
      // One write(2) with O_APPEND: concurrent writers never interleave within a line.
      appendFileSync(this.logFile(log), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    } catch (error) {
      throw stateWriteError(this.location, error);
    }
  }

  async readLog(log: LogName): Promise<unknown[]> {
    let text: string;
    try {
      text = readFileSync(this.logFile(log), "utf8");
    } catch {
      return [];
    }
    const records: unknown[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line));
      } catch {
        // a line torn by a full disk, or edited by hand: skipped, never fatal
      }
    }
    return records;
  }

  private claimsDir(): string {
    return path.join(this.location, "seen");
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    const file = path.join(this.claimsDir(), createHash("sha256").update(key).digest("hex"));
    mkdirSync(this.claimsDir(), { recursive: true, mode: 0o700 });
    const expiresAt = String(Date.now() + ttlMs);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, expiresAt, { flag: "wx", mode: 0o600 });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw stateWriteError(this.location, error);
      }
      let until = Number.POSITIVE_INFINITY;
      try {
        const text = readFileSync(file, "utf8").trim();
        // Empty: created by another claimer that hasn't written its expiry yet. Seen, not expired.
        if (text !== "" && Number.isFinite(Number(text))) until = Number(text);
      } catch {
        // being written or swept this instant: count it as seen
      }
      if (!(until < Date.now())) return false;
      rmSync(file, { force: true }); // an expired claim: the key may be used again
    }
    return false;
  }

  async sweepClaims(now = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = readdirSync(this.claimsDir());
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const file = path.join(this.claimsDir(), name);
      try {
        if (Number(readFileSync(file, "utf8")) < now) {
          rmSync(file, { force: true });
          removed++;
        }
      } catch {
        // gone meanwhile
      }
    }
    return removed;
  }

  private instanceFile(id: string): string {
    return path.join(this.location, "instances", `${id}.json`);
  }

  holdLease(role: string): void {
    if (this.lease?.held) return;
    const id = currentInstance().id;
    this.lease = new LeaseFile(this.instanceFile(id), {
      leaseMs: this.options.leaseMs,
      role,
      onLost: (why) => {
        for (const listener of this.lostListeners) listener(why);
      },
    });
    try {
      this.lease.start();
    } catch (error) {
      this.lease = undefined;
      throw stateWriteError(this.location, error);
    }
    releaseLeasesOnExit();
  }

  async liveness(id: string): Promise<Liveness> {
    return judgeLiveness(readLeaseRecord(this.instanceFile(id)), Date.now(), localProbe());
  }

  async instances(): Promise<{ id: string; liveness: Liveness }[]> {
    let names: string[];
    try {
      names = readdirSync(path.join(this.location, "instances"));
    } catch {
      return [];
    }
    const ids = names.filter((n) => /^[0-9a-f]{16}\.json$/.test(n)).map((n) => n.slice(0, -5));
    return Promise.all(ids.map(async (id) => ({ id, liveness: await this.liveness(id) })));
  }

  async forgetInstance(id: string): Promise<void> {
    if ((await this.liveness(id)).state === "dead") rmSync(this.instanceFile(id), { force: true });
  }

  onLeaseLost(listener: (why: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.lease?.stop(true);
    this.lease = undefined;
  }
}

const stores = new Map<string, FileStateStore>();

/** The state of a backups folder: one store per folder in a process, so its queue is shared. */
export function fileStateFor(root: string, options: FileStateOptions): FileStateStore {
  const key = path.resolve(root);
  let store = stores.get(key);
  if (!store) {
    store = new FileStateStore(key, options);
    stores.set(key, store);
  }
  return store;
}
