import type { z } from "zod/v3";
import type { InstanceIdentity, Liveness } from "./instance.js";

/** A named JSON document of the state, with its schema and what it is when nothing was written yet. */
export interface DocSpec<T> {
  readonly name: string;
  readonly schema: z.ZodType<T, z.ZodTypeDef, unknown>;
  readonly empty: () => T;
}

/** Inside a transaction: reads see the state as it is, writes are made while every other writer waits. */
export interface StateTx {
  read<T>(doc: DocSpec<T>): Promise<T>;
  write<T>(doc: DocSpec<T>, value: T): Promise<void>;
}

/** Append-only logs: one record a line, never rewritten. */
export type LogName = "audit" | "drills";

/**
 * Everything dbbackup remembers goes through this: approvals, jobs, windows, guardrail memory,
 * locks, what is written about a backup after it was filed, audit and drill logs, seen requests, and
 * the liveness of the instances that hold any of it.
 *
 * Files under `<backups>/.state/` are the embedded default (file-store.ts). The interface is what a
 * shared store (Postgres, for several hosts) implements: a transaction is a database transaction, a
 * document a row, an instance lease a row with an expiry, claimOnce an insert that may conflict.
 */
export interface StateStore {
  /** Where the state lives, for messages. */
  readonly location: string;
  /** This process's instance: what its locks and jobs are recorded under. */
  instance(): InstanceIdentity;
  /** A document as last written (never half of one). */
  read<T>(doc: DocSpec<T>): Promise<T>;
  /** Runs `fn` with every other writer excluded, in this process and in others; its writes land together. */
  transact<R>(fn: (tx: StateTx) => Promise<R>): Promise<R>;
  append(log: LogName, record: Record<string, unknown>): Promise<void>;
  /** Every record of a log, oldest first; a damaged line is skipped. */
  readLog(log: LogName): Promise<unknown[]>;
  /** True the first time `key` is claimed within `ttlMs`, false for every later claim (a replay). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Starts renewing this instance's lease (idempotent): needed before holding locks or jobs. */
  holdLease(role: string): void;
  /** How alive the instance `id` is. */
  liveness(id: string): Promise<Liveness>;
  /** Ids of every instance on record, with their liveness (for clean-up of the dead). */
  instances(): Promise<{ id: string; liveness: Liveness }[]>;
  /** Forgets a dead instance's lease record, once what it held was cleaned up. */
  forgetInstance(id: string): Promise<void>;
  /** Called when this instance's lease could not be kept: its locks and jobs may have been taken over. */
  onLeaseLost(listener: (why: string) => void): () => void;
  /** Stops renewing and removes this instance's lease (a clean exit). */
  close(): Promise<void>;
  /** Removes expired request claims; returns how many. */
  sweepClaims(now?: number): Promise<number>;
}

/** One document read, changed and written under the store's exclusion. */
export function updateDoc<T, R>(
  store: StateStore,
  doc: DocSpec<T>,
  change: (current: T) => { next: T; result: R } | Promise<{ next: T; result: R }>,
): Promise<R> {
  return store.transact(async (tx) => {
    const current = await tx.read(doc);
    const { next, result } = await change(current);
    if (next !== current) await tx.write(doc, next);
    return result;
  });
}
