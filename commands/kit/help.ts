import { type Block, context, message, type SlackMessage, section } from "../views/slack/blocks.js";
import type { Registry } from "./registry.js";

/** Help, made from the verbs themselves: what one says about itself is what both help texts say. Pure. */

/** One verb as help shows it. */
export interface VerbHelp {
  name: string;
  summary: string;
  terminal?: string;
  details?: string[];
  slack?: string;
  slackSummary?: string;
}

const FOOTER = `Every command takes --json (one JSON document on stdout) and exits non-zero on failure:
  0 ok, 1 the backup or check failed, 2 bad arguments or configuration, 130 cancelled.

Settings (.env in this folder, or the environment):
  DATABASE_URL_STAGING, DATABASE_URL_PROD, DATABASE_URL_<NAME>   connection URLs (port 5432, sslmode=require)
  DBBACKUP_DIR (./backups)  DBBACKUP_COMPRESS (gzip:4 on pg_dump ≤ 15, zstd on ≥ 16)
  DBBACKUP_LOCK_WAIT_TIMEOUT (60s)  PG_BIN_DIR (where pg_dump lives, if not the usual places)
  DBBACKUP_KEEP_ON_DEMAND (5)  DBBACKUP_KEEP_PRE_UPGRADE (2)   what prune keeps per env
  Guardrail schedules and settings: README → Guardrails.
`;

export function verbHelp(registry: Registry): VerbHelp[] {
  return registry.verbs.map((v) => ({
    name: v.name,
    summary: v.summary,
    ...(v.usage.terminal ? { terminal: v.usage.terminal } : {}),
    ...(v.usage.details ? { details: v.usage.details } : {}),
    ...(v.slack && v.usage.slack ? { slack: v.usage.slack } : {}),
    ...(v.slackSummary ? { slackSummary: v.slackSummary } : {}),
  }));
}

export function terminalHelp(verbs: readonly VerbHelp[]): string {
  const lines = ["dbbackup: verified Postgres (Supabase) backups", "", "Usage:"];
  for (const v of verbs) {
    if (!v.terminal) continue;
    lines.push(`  ${v.terminal}`);
    for (const line of v.details ?? [v.summary]) lines.push(`      ${line}`);
  }
  return `${lines.join("\n")}\n\n${FOOTER}`;
}

export function slackHelp(verbs: readonly VerbHelp[]): SlackMessage {
  const offered = verbs.filter((v) => v.slack);
  const lines = offered.map((v) => `*\`${v.slack}\`* ${v.slackSummary ?? v.summary}`);
  const short = offered.map((v) => (v.slack ?? "").replace(/^\/dbbackup /, "")).join(" | ");
  const blocks: Block[] = [
    section("*dbbackup* takes verified Postgres backups."),
    section(lines.join("\n")),
    context("Labels: a-z 0-9 . _ - (up to 40), e.g. `pre-upgrade`."),
  ];
  return message(`dbbackup: /dbbackup ${short}`, blocks);
}
