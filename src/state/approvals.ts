import { randomUUID } from "node:crypto";
import { z } from "zod/v3";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

const approvalSchema = z.object({
  id: z.string(),
  /** A backup the bot starts once approved, or a restore the terminal that asked is waiting to run. */
  kind: z.enum(["backup", "restore"]).default("backup"),
  /** A restore: what it would do, in words ("restore <id> into busy at …, in place"). */
  what: z.string().nullable().default(null),
  /** Who runs it once approved: the bot (with `args`, the verb's checked arguments), or the terminal that asked and waits. */
  runBy: z.enum(["bot", "terminal"]).default("bot"),
  args: z.unknown().optional(),
  env: z.string(),
  label: z.string().nullable(),
  reason: z.string().nullable(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(["pending", "approved", "denied", "expired"]),
  approvals: z.array(z.object({ by: z.string(), at: z.string() })),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  /** The Slack message showing it, once posted. */
  channel: z.string().nullable(),
  ts: z.string().nullable(),
});
export type Approval = z.infer<typeof approvalSchema>;

const approvalsDoc: DocSpec<{ approvals: Approval[] }> = {
  name: "approvals",
  schema: z.object({ approvals: z.array(approvalSchema) }),
  empty: () => ({ approvals: [] }),
};

export type Decision =
  | { outcome: "approved"; approval: Approval }
  | { outcome: "recorded"; approval: Approval; needed: number }
  | { outcome: "denied"; approval: Approval }
  | { outcome: "refused"; reason: string; approval?: Approval };

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

/** Approval requests in the state: every change one compare-and-set, safe across bot processes. */
export class ApprovalStore {
  constructor(private readonly store: StateStore) {}

  private update<R>(
    change: (s: { approvals: Approval[] }) => { next: { approvals: Approval[] }; result: R },
  ) {
    return updateDoc(this.store, approvalsDoc, change);
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
    const monthAgo = now.getTime() - 30 * 86_400_000;
    return this.update((s) => ({
      next: {
        approvals: [
          ...s.approvals.filter((a) => a.status === "pending" || Date.parse(a.requestedAt) > monthAgo),
          approval,
        ],
      },
      result: approval,
    }));
  }

  async pending(): Promise<Approval[]> {
    return (await this.store.read(approvalsDoc)).approvals.filter((a) => a.status === "pending");
  }

  async get(id: string): Promise<Approval | undefined> {
    return (await this.store.read(approvalsDoc)).approvals.find((a) => a.id === id);
  }

  setMessage(id: string, channel: string, ts: string): Promise<void> {
    return this.update((s) => ({
      next: { approvals: s.approvals.map((a) => (a.id === id ? { ...a, channel, ts } : a)) },
      result: undefined,
    }));
  }

  /** One atomic compare-and-set: of twenty simultaneous clicks exactly one sees "approved". */
  decide(
    id: string,
    clicker: string,
    action: "approve" | "deny",
    rules: DecisionRules,
    now = new Date(),
  ): Promise<Decision> {
    return this.update<Decision>((s) => {
      const current = s.approvals.find((a) => a.id === id);
      if (!current)
        return {
          next: s,
          result: { outcome: "refused", reason: "No such request (it may be from another bot)." },
        };
      const decision = decide(current, clicker, action, now, rules);
      if (decision.outcome === "refused") return { next: s, result: decision };
      return {
        next: { approvals: s.approvals.map((a) => (a.id === id ? decision.approval : a)) },
        result: decision,
      };
    });
  }

  /** Pending requests past their expiry become expired; returns them so their buttons can go. */
  expire(now = new Date()): Promise<Approval[]> {
    return this.update((s) => {
      const expired: Approval[] = [];
      const approvals = s.approvals.map((a) => {
        if (a.status !== "pending" || new Date(a.expiresAt).getTime() > now.getTime()) return a;
        const next = { ...a, status: "expired" as const, decidedAt: now.toISOString() };
        expired.push(next);
        return next;
      });
      return { next: expired.length > 0 ? { approvals } : s, result: expired };
    });
  }
}
