import { randomUUID } from "node:crypto";
import type { Approval, Decision } from "./approval-schema.js";
import { DocApprovals } from "./approvals-doc.js";
import { PgApprovals } from "./approvals-pg.js";
import { PgStateStore } from "./pg-store.js";
import type { StateStore } from "./store.js";

export type { Approval, Decision } from "./approval-schema.js";

export interface DecisionRules {
  /** Who may approve: already resolved from user and user-group IDs. */
  approvers: ReadonlySet<string>;
  minApprovers: number;
}

/**
 * The rules, as one pure function of the stored request: the requester never approves their own,
 * only approvers decide, an expired or decided request stays as it is, and it takes `minApprovers`
 * distinct people. The store applies it as one compare-and-set.
 */
export function decide(
  approval: Approval,
  clicker: string,
  action: "approve" | "deny",
  now: Date,
  rules: DecisionRules,
): Decision {
  if (approval.status !== "pending") {
    const when = approval.decidedAt ? ` at ${approval.decidedAt.slice(11, 16)} UTC` : "";
    const by = approval.decidedBy ? ` by <@${approval.decidedBy}>` : "";
    return {
      outcome: "refused",
      reason: `This request was already ${approval.status}${by}${when}.`,
      approval,
    };
  }
  if (now.getTime() >= new Date(approval.expiresAt).getTime()) {
    return {
      outcome: "refused",
      reason: `This request has expired; ask for the ${approval.kind} again.`,
      approval,
    };
  }
  if (clicker === approval.requestedBy) {
    return {
      outcome: "refused",
      reason: `You asked for this ${approval.kind}, so someone else has to approve it.`,
      approval,
    };
  }
  if (!rules.approvers.has(clicker)) {
    return { outcome: "refused", reason: "You're not one of the approvers for this environment.", approval };
  }
  const at = now.toISOString();
  if (action === "deny") {
    return {
      outcome: "denied",
      approval: { ...approval, status: "denied", decidedBy: clicker, decidedAt: at },
    };
  }
  if (approval.approvals.some((a) => a.by === clicker)) {
    return {
      outcome: "refused",
      reason: "You've already approved this; it needs someone else too.",
      approval,
    };
  }
  const approvals = [...approval.approvals, { by: clicker, at }];
  if (approvals.length < rules.minApprovers) {
    return {
      outcome: "recorded",
      approval: { ...approval, approvals },
      needed: rules.minApprovers - approvals.length,
    };
  }
  return {
    outcome: "approved",
    approval: { ...approval, approvals, status: "approved", decidedBy: clicker, decidedAt: at },
  };
}

/** Where approval requests are kept: a document in the files, a row each in the state database. */
export interface ApprovalRecords {
  /** Adds a request; decided ones older than `dropBefore` go. */
  insert(approval: Approval, dropBefore: Date): Promise<void>;
  pending(): Promise<Approval[]>;
  get(id: string): Promise<Approval | undefined>;
  setMessage(id: string, channel: string, ts: string): Promise<void>;
  /** Applies `decide` to the request as stored, as one compare-and-set. */
  decide(id: string, decision: (current: Approval) => Decision): Promise<Decision>;
  /** Pending requests past their expiry become expired; returns them. */
  expire(now: Date): Promise<Approval[]>;
}

/** Approval requests in the state: every change one compare-and-set, safe across bot processes and hosts. */
export class ApprovalStore {
  private readonly records: ApprovalRecords;

  constructor(store: StateStore) {
    // In the state database each request is a row and a decision one conditional UPDATE of it.
    this.records = store instanceof PgStateStore ? new PgApprovals(store) : new DocApprovals(store);
  }

  async create(input: {
    env: string;
    label: string | null;
    reason: string | null;
    requestedBy: string;
    ttlMs: number;
    kind?: Approval["kind"];
    what?: string;
    runBy?: Approval["runBy"];
    args?: unknown;
    now?: Date;
  }): Promise<Approval> {
    const now = input.now ?? new Date();
    const approval: Approval = {
      id: randomUUID(),
      kind: input.kind ?? "backup",
      what: input.what ?? null,
      runBy: input.runBy ?? "bot",
      ...(input.args !== undefined ? { args: input.args } : {}),
      env: input.env,
      label: input.label,
      reason: input.reason,
      requestedBy: input.requestedBy,
      requestedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + input.ttlMs).toISOString(),
      status: "pending",
      approvals: [],
      decidedBy: null,
      decidedAt: null,
      channel: null,
      ts: null,
    };
    // Decided requests are kept 30 days, for the record; older ones are dropped as requests come in.
    await this.records.insert(approval, new Date(now.getTime() - 30 * 86_400_000));
    return approval;
  }

  pending(): Promise<Approval[]> {
    return this.records.pending();
  }

  get(id: string): Promise<Approval | undefined> {
    return this.records.get(id);
  }

  setMessage(id: string, channel: string, ts: string): Promise<void> {
    return this.records.setMessage(id, channel, ts);
  }

  /** One atomic compare-and-set: of twenty simultaneous clicks exactly one sees "approved". */
  decide(
    id: string,
    clicker: string,
    action: "approve" | "deny",
    rules: DecisionRules,
    now = new Date(),
  ): Promise<Decision> {
    return this.records.decide(id, (current) => decide(current, clicker, action, now, rules));
  }

  /** Pending requests past their expiry become expired; returns them so their buttons can go. */
  expire(now = new Date()): Promise<Approval[]> {
    return this.records.expire(now);
  }
}
