import { type BackupSummary, listBackups } from "../backup/catalog.js";
import { PRE_UPGRADE_LABEL } from "../backup/retention.js";
import type { Config } from "../config.js";
import { stateFor } from "../state/open.js";
import type { JobName } from "./job-names.js";
import type { BackupRef, Notice } from "./notices.js";
import { pgVersionNumber } from "./notices.js";
import type { GuardrailSettings } from "./settings.js";

/** What every scheduled job gets: the clock and the way out are passed in, so tests control both. */
export interface GuardrailContext {
  config: Config;
  settings: GuardrailSettings;
  now(): Date;
  /** Delivers one notice (Slack, the terminal); throws when it could not, so it is tried next run. */
  post(notice: Notice): Promise<void>;
  /**
   * False when notices reach only the person running this (`jobs run` without the bot's Slack
   * settings): they are shown, and not recorded as said, so the bot still posts them.
   */
  delivers?: boolean;
  signal?: AbortSignal;
}

export interface JobReport {
  job: JobName;
  notices: Notice[];
  /** What a job could not check (an env unreachable, an API refusing): logged and shown, not posted. */
  problems: string[];
}

/** Stage 2 or better: the backups a guardrail counts. Newest first. */
export async function verifiedBackups(config: Config): Promise<BackupSummary[]> {
  const { backups } = await listBackups(config.backupsDir, stateFor(config));
  return backups
    .filter((b) => b.stage === "readable" || b.stage === "restored")
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt));
}

export function isPreUpgrade(b: BackupSummary): boolean {
  return b.label === PRE_UPGRADE_LABEL;
}

export function backupRef(b: BackupSummary): BackupRef {
  return {
    id: b.id,
    label: b.label,
    finishedAt: b.finishedAt,
    requestedBy: b.requestedBy,
    version: pgVersionNumber(b.serverVersion),
  };
}

/**
 * Collects what was posted, posting each as it goes (a later failure keeps the earlier ones). `post`
 * says whether the notice reached the channel: only then is it recorded as said.
 */
export function reporter(ctx: GuardrailContext, job: JobName) {
  const report: JobReport = { job, notices: [], problems: [] };
  return {
    report,
    async post(notice: Notice): Promise<boolean> {
      await ctx.post(notice);
      report.notices.push(notice);
      return ctx.delivers !== false;
    },
    problem(text: string) {
      report.problems.push(text);
    },
  };
}
