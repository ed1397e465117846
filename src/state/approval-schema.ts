import { z } from "zod/v3";

/** An approval request as stored, in a file or a row of the state database. */
export const approvalSchema = z.object({
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

export type Decision =
  | { outcome: "approved"; approval: Approval }
  | { outcome: "recorded"; approval: Approval; needed: number }
  | { outcome: "denied"; approval: Approval }
  | { outcome: "refused"; reason: string; approval?: Approval };
