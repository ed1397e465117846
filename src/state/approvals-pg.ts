import { DbBackupError } from "../errors.js";
import { type Approval, approvalSchema, type Decision } from "./approval-schema.js";
import type { ApprovalRecords } from "./approvals.js";
import type { PgStateStore } from "./pg-store.js";

/** Clicks that lost the race to another click's UPDATE try again on the new row; this many at most. */
const MAX_RACES = 25;

const NO_SUCH: Decision = { outcome: "refused", reason: "No such request (it may be from another bot)." };

/**
 * The state database's approvals: a row each. A decision is one conditional UPDATE, made only if the
 * row is still the version the rules were applied to, so of any number of clicks on any replicas
 * one approves, and no request waits on another's lock.
 */
export class PgApprovals implements ApprovalRecords {
  constructor(private readonly store: PgStateStore) {}

  private parse(body: unknown): Approval {
    const parsed = approvalSchema.safeParse(body);
    if (parsed.success) return parsed.data;
    throw new DbBackupError(
      "state_damaged",
      `An approval request in ${this.store.location} is damaged (${parsed.error.issues[0]?.message ?? "invalid"}); dbbackup never writes it that way.`,
      "Look at dbbackup_approvals, delete the damaged row, and ask for the approval again.",
    );
  }

  async insert(approval: Approval, dropBefore: Date): Promise<void> {
    await this.store.sql(
      `insert into dbbackup_approvals (id, status, requested_at, expires_at, body)
       values ($1, $2, $3, $4, $5)`,
      [approval.id, approval.status, approval.requestedAt, approval.expiresAt, JSON.stringify(approval)],
    );
    await this.store.sql("delete from dbbackup_approvals where status <> 'pending' and requested_at < $1", [
      dropBefore.toISOString(),
    ]);
  }

  async pending(): Promise<Approval[]> {
    const r = await this.store.sql<{ body: unknown }>(
      "select body from dbbackup_approvals where status = 'pending' order by requested_at",
    );
    return r.rows.map((row) => this.parse(row.body));
  }

  async get(id: string): Promise<Approval | undefined> {
    const r = await this.store.sql<{ body: unknown }>("select body from dbbackup_approvals where id = $1", [
      id,
    ]);
    const row = r.rows[0];
    return row ? this.parse(row.body) : undefined;
  }

  async setMessage(id: string, channel: string, ts: string): Promise<void> {
    await this.store.sql(
      `update dbbackup_approvals
          set body = body || jsonb_build_object('channel', $2::text, 'ts', $3::text), version = version + 1
        where id = $1`,
      [id, channel, ts],
    );
  }

  async decide(id: string, decision: (current: Approval) => Decision): Promise<Decision> {
    for (let race = 0; race < MAX_RACES; race++) {
      const r = await this.store.sql<{ body: unknown; version: number }>(
        "select body, version from dbbackup_approvals where id = $1",
        [id],
      );
      const row = r.rows[0];
      if (!row) return NO_SUCH;
      const decided = decision(this.parse(row.body));
      if (decided.outcome === "refused") return decided;
      const updated = await this.store.sql(
        `update dbbackup_approvals set body = $3, status = $4, version = version + 1
          where id = $1 and version = $2`,
        [id, row.version, JSON.stringify(decided.approval), decided.approval.status],
      );
      if (updated.rowCount === 1) return decided;
    }
    return {
      outcome: "refused",
      reason: "Many people clicked at once and this click kept losing; click again.",
    };
  }

  async expire(now: Date): Promise<Approval[]> {
    const r = await this.store.sql<{ body: unknown }>(
      `update dbbackup_approvals
          set status = 'expired', version = version + 1,
              body = body || jsonb_build_object('status', 'expired', 'decidedAt', $1::text)
        where status = 'pending' and expires_at <= $1::timestamptz
        returning body`,
      [now.toISOString()],
    );
    return r.rows.map((row) => this.parse(row.body));
  }
}
