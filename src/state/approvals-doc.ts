import { z } from "zod/v3";
import { type Approval, approvalSchema, type Decision } from "./approval-schema.js";
import type { ApprovalRecords } from "./approvals.js";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

const approvalsDoc: DocSpec<{ approvals: Approval[] }> = {
  name: "approvals",
  schema: z.object({ approvals: z.array(approvalSchema) }),
  empty: () => ({ approvals: [] }),
};

/** The files' approvals: one document, every change read and written under the state's lock. */
export class DocApprovals implements ApprovalRecords {
  constructor(private readonly store: StateStore) {}

  private update<R>(
    change: (s: { approvals: Approval[] }) => { next: { approvals: Approval[] }; result: R },
  ) {
    return updateDoc(this.store, approvalsDoc, change);
  }

  insert(approval: Approval, dropBefore: Date): Promise<void> {
    const cutoff = dropBefore.getTime();
    return this.update((s) => ({
      next: {
        approvals: [
          ...s.approvals.filter((a) => a.status === "pending" || Date.parse(a.requestedAt) > cutoff),
          approval,
        ],
      },
      result: undefined,
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

  decide(id: string, decision: (current: Approval) => Decision): Promise<Decision> {
    return this.update<Decision>((s) => {
      const current = s.approvals.find((a) => a.id === id);
      if (!current)
        return {
          next: s,
          result: { outcome: "refused", reason: "No such request (it may be from another bot)." },
        };
      const decided = decision(current);
      if (decided.outcome === "refused") return { next: s, result: decided };
      return {
        next: { approvals: s.approvals.map((a) => (a.id === id ? decided.approval : a)) },
        result: decided,
      };
    });
  }

  expire(now: Date): Promise<Approval[]> {
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
