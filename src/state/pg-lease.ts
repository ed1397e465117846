import type pg from "pg";
import {
  currentInstance,
  type InstanceIdentity,
  type LeaseRecord,
  leaseRecordSchema,
  retireInstance,
} from "./instance.js";

/**
 * An instance's lease as a row of the state database, renewed by its holder. Every time in it is the
 * database's clock (`now()`), never a host's: hosts whose clocks differ judge it alike.
 */
export class PgLease {
  private timer: NodeJS.Timeout | undefined;
  /** By this host's clock, when the lease surely ends if no renewal gets through. */
  private deadline = 0;
  private lost = false;
  private written: Promise<void> | undefined;
  readonly renewMs: number;
  readonly identity: InstanceIdentity;

  constructor(
    private readonly pool: () => Promise<pg.Pool>,
    private readonly options: { leaseMs: number; role: string; onLost: (why: string) => void },
  ) {
    this.identity = currentInstance();
    this.renewMs = Math.max(250, Math.floor(options.leaseMs / 4));
  }

  get held(): boolean {
    return this.timer !== undefined && !this.lost;
  }

  private record(): Omit<LeaseRecord, "renewedAt" | "expiresAt"> {
    return {
      ...this.identity,
      role: this.options.role,
      leaseMs: this.options.leaseMs,
      renewMs: this.renewMs,
    };
  }

  /** Starts renewing; the row is written before the first state change that needs it (see `ensure`). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  /** The row is there (written now if it wasn't, or a first attempt failed). */
  ensure(): Promise<void> {
    this.written ??= this.insert().catch((error: unknown) => {
      this.written = undefined;
      throw error;
    });
    return this.written;
  }

  private async insert(): Promise<void> {
    const sent = Date.now();
    await (await this.pool()).query(
      `insert into dbbackup_instances (id, record, renewed_at, expires_at)
       values ($1, $2, now(), now() + $3 * interval '1 millisecond')
       on conflict (id) do update set record = excluded.record, renewed_at = excluded.renewed_at,
         expires_at = excluded.expires_at`,
      [this.identity.id, JSON.stringify(this.record()), this.options.leaseMs],
    );
    this.deadline = sent + this.options.leaseMs;
  }

  private async renew(): Promise<void> {
    if (!this.held || !this.written) return;
    const sent = Date.now();
    if (sent >= this.deadline - Math.min(this.options.leaseMs / 10, 500)) {
      this.lose(
        `its lease could not be renewed for ${Math.round((sent - this.deadline + this.options.leaseMs) / 1000)} s`,
      );
      return;
    }
    try {
      const r = await (await this.pool()).query(
        `update dbbackup_instances set renewed_at = now(), expires_at = now() + $2 * interval '1 millisecond'
          where id = $1 and expires_at > now()`,
        [this.identity.id, this.options.leaseMs],
      );
      // Expired, or removed as dead by another instance: what it held may be someone else's now.
      if (r.rowCount === 0) this.lose("its lease had expired in the state database");
      else this.deadline = sent + this.options.leaseMs;
    } catch {
      // The state database is unreachable: keep trying; the deadline check above decides when it is lost.
    }
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.stop();
    retireInstance(this.identity.id);
    this.options.onLost(why);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A clean stop: the row goes at once, so nobody waits for it. */
  async remove(): Promise<void> {
    this.stop();
    await (await this.pool()).query("delete from dbbackup_instances where id = $1", [this.identity.id]);
  }
}

/** A row of dbbackup_instances as the record judgeLiveness reads, with the database's clock. */
export function leaseFromRow(row: {
  record: unknown;
  renewed_at: Date;
  expires_at: Date;
}): LeaseRecord | undefined {
  const parsed = leaseRecordSchema.safeParse({
    ...(row.record as object),
    renewedAt: row.renewed_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  });
  return parsed.success ? parsed.data : undefined;
}
