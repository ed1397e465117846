import { randomBytes } from "node:crypto";
import { readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import { z } from "zod/v3";
import { writeFileAtomic } from "./atomic-file.js";

/**
 * Who holds a lock or runs a job: an instance, a random id per process start. Liveness comes from a
 * lease the instance renews. A pid and a hostname are kept only as hints for messages, and as
 * evidence of death where they can prove it: on the same boot and in the same PID namespace, a pid
 * that is gone (or now belongs to a process started at another time) is certainly not the holder.
 */
export interface InstanceIdentity {
  id: string;
  pid: number;
  host: string;
  startedAt: string;
  /** /proc/sys/kernel/random/boot_id: a different boot means none of this boot's pids are comparable. */
  bootId: string | null;
  /** The PID namespace (/proc/self/ns/pid): containers and `unshare --pid` get their own. */
  pidNamespace: string | null;
  /** Field 22 of /proc/<pid>/stat: a reused pid has another start time. */
  processStart: string | null;
}

export const leaseRecordSchema = z.object({
  id: z.string(),
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
  bootId: z.string().nullable(),
  pidNamespace: z.string().nullable(),
  processStart: z.string().nullable(),
  /** What holds it: "cli backup", "bot", "scratch server"… for messages. */
  role: z.string(),
  renewedAt: z.string(),
  expiresAt: z.string(),
  leaseMs: z.number().int().positive(),
  renewMs: z.number().int().positive(),
});
export type LeaseRecord = z.infer<typeof leaseRecordSchema>;

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, "utf8").trim() || null;
  } catch {
    return null;
  }
}

/** Start time of `pid` in clock ticks since boot, or null when there is no such process here. */
export function processStartOf(pid: number): string | null {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (!stat) return null;
  // The command name may hold spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null;
}

function pidNamespaceOfSelf(): string | null {
  try {
    return readlinkSync("/proc/self/ns/pid") || null;
  } catch {
    return null;
  }
}

function newIdentity(): InstanceIdentity {
  return {
    id: randomBytes(8).toString("hex"),
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    bootId: readOptional("/proc/sys/kernel/random/boot_id"),
    pidNamespace: pidNamespaceOfSelf(),
    processStart: processStartOf(process.pid),
  };
}

let current: InstanceIdentity | undefined;

/** This process's instance; a new one only after the old one lost its lease (see LeaseFile). */
export function currentInstance(): InstanceIdentity {
  current ??= newIdentity();
  return current;
}

/** After a lost lease: the next use of currentInstance() is a new instance. */
export function retireInstance(id: string): void {
  if (current?.id === id) current = undefined;
}

/** Evidence about this machine, injectable so the judgement stays a pure function. */
export interface LocalProbe {
  bootId: string | null;
  pidNamespace: string | null;
  processStartOf(pid: number): string | null;
}

export function localProbe(): LocalProbe {
  const me = currentInstance();
  return { bootId: me.bootId, pidNamespace: me.pidNamespace, processStartOf };
}

export type Liveness =
  /** The very process is running on this machine (same boot, same PID namespace, same start time). */
  | { state: "running"; record: LeaseRecord }
  /** Its lease is current and was renewed lately; it can't be seen from here (another host or container). */
  | { state: "renewing"; record: LeaseRecord }
  /** Its lease is current, but it stopped renewing: probably dead; it is taken over when the lease expires. */
  | { state: "silent"; record: LeaseRecord; silentMs: number }
  | { state: "dead"; record?: LeaseRecord; why: string };

/** After this many missed renewals an instance counts as silent. */
const SILENT_AFTER_RENEWALS = 2.5;

/** How alive the holder of `record` is at `now`. Pure, given the probe. */
export function judgeLiveness(record: LeaseRecord | undefined, now: number, probe: LocalProbe): Liveness {
  if (!record) return { state: "dead", why: "it left no lease (it stopped, or was cleaned up)" };
  const expires = Date.parse(record.expiresAt);
  if (!(now < expires)) {
    return { state: "dead", record, why: `its lease expired at ${record.expiresAt.slice(11, 19)} UTC` };
  }
  const sameMachine =
    record.bootId !== null &&
    record.bootId === probe.bootId &&
    record.pidNamespace !== null &&
    record.pidNamespace === probe.pidNamespace;
  if (sameMachine) {
    const start = probe.processStartOf(record.pid);
    if (start === null || (record.processStart !== null && start !== record.processStart)) {
      return { state: "dead", record, why: `its process (pid ${record.pid}) is gone` };
    }
    return { state: "running", record };
  }
  const silentMs = now - Date.parse(record.renewedAt);
  if (silentMs > record.renewMs * SILENT_AFTER_RENEWALS) return { state: "silent", record, silentMs };
  return { state: "renewing", record };
}

export function readLeaseRecord(file: string): LeaseRecord | undefined {
  const text = readOptional(file);
  if (!text) return undefined;
  try {
    const parsed = leaseRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface LeaseOptions {
  leaseMs: number;
  role: string;
  /** Told once when the lease could not be kept (the process stalled past it, or the disk refused). */
  onLost?: (why: string) => void;
}

/**
 * A lease kept in one file, written only by its holder (so it needs no lock): renewed every quarter
 * of its length while the process runs, removed when the holder lets go. A process that finds it
 * could not renew in time counts itself as having lost it: someone may have taken over since.
 */
export class LeaseFile {
  private timer: NodeJS.Timeout | undefined;
  private expiresAt = 0;
  private lost = false;
  readonly renewMs: number;
  readonly identity: InstanceIdentity;

  constructor(
    readonly file: string,
    private readonly options: LeaseOptions,
  ) {
    this.identity = currentInstance();
    this.renewMs = Math.max(250, Math.floor(options.leaseMs / 4));
  }

  get held(): boolean {
    return this.timer !== undefined && !this.lost;
  }

  /** Writes the lease now and keeps renewing it. Throws when it can't be written at all. */
  start(): void {
    if (this.timer) return;
    this.write(Date.now(), true);
    this.timer = setInterval(() => this.renew(), this.renewMs);
    this.timer.unref();
    leases.add(this);
  }

  private write(now: number, first = false): void {
    const record: LeaseRecord = {
      ...this.identity,
      role: this.options.role,
      renewedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.options.leaseMs).toISOString(),
      leaseMs: this.options.leaseMs,
      renewMs: this.renewMs,
    };
    // Renewals never recreate the folder: when the state was deleted, there is nothing left to hold.
    writeFileAtomic(this.file, `${JSON.stringify(record)}\n`, 0o600, first);
    this.expiresAt = now + this.options.leaseMs;
  }

  private renew(): void {
    const now = Date.now();
    // Others take over once it has expired; renewing that late would resurrect a lease they own.
    if (now >= this.expiresAt - Math.min(this.options.leaseMs / 10, 500)) {
      this.lose(
        `the process could not renew its lease for ${Math.round((now - this.expiresAt + this.options.leaseMs) / 1000)} s`,
      );
      return;
    }
    try {
      this.write(now);
    } catch (error) {
      // The state folder is gone (deleted with the backups): stop quietly, there is nothing to hold.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") this.stop(false);
      // A full disk: keep the old lease and try again next time; losing it comes from the check above.
    }
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.stop(false);
    retireInstance(this.identity.id);
    this.options.onLost?.(why);
  }

  /** Stops renewing; with `remove` (a clean exit) the lease goes at once, so nobody waits for it. */
  stop(remove = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    leases.delete(this);
    if (remove) rmSync(this.file, { force: true });
  }
}

const leases = new Set<LeaseFile>();
let exitHook = false;

/** A clean exit lets go of every lease at once: nobody should wait a minute for a process that said goodbye. */
export function releaseLeasesOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const lease of [...leases]) {
      try {
        lease.stop(true);
      } catch {
        // exiting anyway
      }
    }
  });
}
