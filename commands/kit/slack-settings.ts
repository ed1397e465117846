import { z } from "zod/v3";
import { settingProblems, withoutEmpty } from "../../src/config.js";
import { DbBackupError } from "../../src/errors.js";

/**
 * How every WebClient of ours talks to Slack: bounded retries (an outage must not turn into half an
 * hour of silent retries), and a 429 fails that one call at once instead of pausing every call behind it.
 */
export function webClientOptions(apiUrl: string | undefined) {
  return {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2_000 },
    rejectRateLimitedCalls: true,
  };
}

/** The bot's own settings (the backup settings stay in src/config.ts); every problem named at once. */

const SLACK_ID = /^[UWSCGD][A-Z0-9]{2,}$/;
const DURATION = /^[0-9]+(ms|s|m|min|h)$/;

function durationMs(value: string): number {
  const n = Number.parseInt(value, 10);
  if (value.endsWith("ms")) return n;
  if (value.endsWith("h")) return n * 3_600_000;
  if (value.endsWith("min") || value.endsWith("m")) return n * 60_000;
  return n * 1000;
}

const idList = (what: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v ?? "").split(/[\s,]+/).filter(Boolean))
    .refine(
      (ids) => ids.every((id) => SLACK_ID.test(id)),
      `must be Slack ${what} IDs (like U0123ABCD), comma-separated`,
    );

const schema = z.object({
  SLACK_BOT_TOKEN: z
    .string({ required_error: "is required" })
    .regex(/^xoxb-/, "must be a bot token (xoxb-…)"),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, "must be an app-level token (xapp-…)")
    .optional(),
  SLACK_SIGNING_SECRET: z.string().min(8, "looks too short for a signing secret").optional(),
  SLACK_API_URL: z.string().url("must be a URL like https://slack.com/api/").optional(),
  DBBACKUP_CHANNEL: z
    .string({ required_error: "is required: where results, approvals and nags go" })
    .regex(/^[CG][A-Z0-9]{2,}$/, "must be a channel ID (C0123ABCD; in Slack: channel details → bottom)"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DBBACKUP_PROD_APPROVERS: idList("user or user group"),
  DBBACKUP_REQUESTERS: idList("user or user group"),
  DBBACKUP_ALLOWED_CHANNELS: idList("channel"),
  DBBACKUP_APPROVAL_TTL: z.string().regex(DURATION, "must be a duration like 30m or 1h").default("30m"),
  DBBACKUP_APPROVAL_ENVS: z
    .string()
    .default("prod")
    .transform((v) => v.split(/[\s,]+/).filter(Boolean)),
  DBBACKUP_MIN_APPROVERS: z.coerce.number().int().min(1).max(10).default(1),
  DBBACKUP_SHUTDOWN_GRACE: z.string().regex(DURATION, "must be a duration like 60s").default("60s"),
});

export interface SlackSettings {
  botToken: string;
  /** Socket Mode when set; otherwise HTTP on `port` with the signing secret. */
  appToken: string | undefined;
  signingSecret: string | undefined;
  apiUrl: string | undefined;
  channel: string;
  port: number;
  /** Where the HTTP receiver listens (tests: 127.0.0.1). */
  host: string;
  approvers: string[];
  requesters: string[];
  allowedChannels: string[];
  approvalTtlMs: number;
  approvalEnvs: string[];
  minApprovers: number;
  shutdownGraceMs: number;
}

export function loadSlackSettings(given: Record<string, string | undefined>): SlackSettings {
  const env = withoutEmpty(given);
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) problems.push(...settingProblems(parsed.error).map((p) => `${p.key}: ${p.message}`));
  if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    problems.push(
      "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is required (app token for Socket Mode, signing secret for HTTP)",
    );
  }
  if (!parsed.success || problems.length > 0) {
    throw new DbBackupError(
      "config_invalid",
      `The Slack bot's settings have ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n  - ${problems.join("\n  - ")}`,
      "Fix them in .env (README → Slack bot lists every setting), then start again.",
    );
  }
  const d = parsed.data;
  return {
    botToken: d.SLACK_BOT_TOKEN,
    appToken: d.SLACK_APP_TOKEN,
    signingSecret: d.SLACK_SIGNING_SECRET,
    apiUrl: d.SLACK_API_URL,
    channel: d.DBBACKUP_CHANNEL,
    port: d.PORT,
    host: d.HOST,
    approvers: d.DBBACKUP_PROD_APPROVERS,
    requesters: d.DBBACKUP_REQUESTERS,
    allowedChannels: d.DBBACKUP_ALLOWED_CHANNELS,
    approvalTtlMs: durationMs(d.DBBACKUP_APPROVAL_TTL),
    approvalEnvs: d.DBBACKUP_APPROVAL_ENVS,
    minApprovers: d.DBBACKUP_MIN_APPROVERS,
    shutdownGraceMs: durationMs(d.DBBACKUP_SHUTDOWN_GRACE),
  };
}

/**
 * Just enough to post to the channel (`dbbackup jobs run` on the bot's host): undefined when the
 * bot's token or channel isn't set, so the CLI then prints and posts nothing.
 */
export function loadSlackPostingSettings(
  given: Record<string, string | undefined>,
): PostingSettings | undefined {
  const env = withoutEmpty(given);
  if (!env.SLACK_BOT_TOKEN || !env.DBBACKUP_CHANNEL) return undefined;
  const parsed = schema
    .pick({
      SLACK_BOT_TOKEN: true,
      SLACK_API_URL: true,
      DBBACKUP_CHANNEL: true,
      DBBACKUP_APPROVAL_ENVS: true,
      DBBACKUP_APPROVAL_TTL: true,
      DBBACKUP_MIN_APPROVERS: true,
    })
    .safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DbBackupError(
      "config_invalid",
      `${String(issue?.path[0])}: ${issue?.message ?? "invalid"}`,
      "Fix it in .env (README → Slack bot), or unset SLACK_BOT_TOKEN to only print.",
    );
  }
  return {
    botToken: parsed.data.SLACK_BOT_TOKEN,
    apiUrl: parsed.data.SLACK_API_URL,
    channel: parsed.data.DBBACKUP_CHANNEL,
    approvalEnvs: parsed.data.DBBACKUP_APPROVAL_ENVS,
    approvalTtlMs: durationMs(parsed.data.DBBACKUP_APPROVAL_TTL),
    minApprovers: parsed.data.DBBACKUP_MIN_APPROVERS,
  };
}

/** What a process other than the bot needs to post to the channel and ask for approvals there. */
export type PostingSettings = Pick<
  SlackSettings,
  "botToken" | "apiUrl" | "channel" | "approvalEnvs" | "approvalTtlMs" | "minApprovers"
>;

/** The envs whose backups and restores need a second person, as the bot reads them (default prod). */
export function approvalEnvsOf(given: Record<string, string | undefined>): string[] {
  return schema.shape.DBBACKUP_APPROVAL_ENVS.parse(withoutEmpty(given).DBBACKUP_APPROVAL_ENVS);
}
