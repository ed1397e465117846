import type { DiffResult } from "../backup/diff.js";
import type { Drill } from "../state/drill-log.js";
import type { MaintenanceWindow, NagLevel } from "../state/windows.js";

/** A backup as a guardrail message names it. */
export interface BackupRef {
  id: string;
  label: string | null;
  finishedAt: string;
  requestedBy: string;
  /** The server version it was taken from, e.g. "15.8". */
  version: string;
}

/**
 * What a scheduled check has to tell the channel. Plain data: Slack renders it as Block Kit
 * (src/slack/guardrail-views.ts), the terminal as lines (src/cli/render-guardrails.ts).
 */
export type Notice =
  | { kind: "nag"; window: MaintenanceWindow; level: NagLevel; msLeft: number }
  | { kind: "covered"; window: MaintenanceWindow; backup: BackupRef }
  /** A pre-upgrade backup that finished after the window began: it is not a pre-upgrade backup. */
  | { kind: "late-cover"; window: MaintenanceWindow; backup: BackupRef }
  | {
      kind: "window-diff";
      window: MaintenanceWindow;
      /** The pre-upgrade backup compared with live, or the newest backup when none covered it. */
      from: BackupRef | null;
      covered: boolean;
      diff: DiffResult | null;
      /** Why there is no diff (no backup at all, live unreachable). */
      error: string | null;
    }
  | { kind: "version-changed"; env: string; from: string; to: string; lastBackup: BackupRef }
  | {
      kind: "dead-man";
      env: string;
      days: number;
      /** No backup reached stage 2 in those days (false: they did; only the off-site copies stopped). */
      noStage2: boolean;
      lastBackup: BackupRef | null;
      /** Off-site copies are set up and no backup of env reached the bucket in those days: the last that did. */
      offsite?: { lastCopy: { id: string; provenAt: string } | null };
    }
  | {
      kind: "drill-due";
      env: string;
      reason: "quarterly" | "overdue";
      /** "2026 Q4", in the configured time zone. */
      quarter: string;
      maxAgeDays: number;
      lastDrill: Drill | null;
    }
  | {
      kind: "pruned";
      trigger: "schedule" | "after-backup";
      deleted: { id: string; env: string; bytes: number; reason: string }[];
      freedBytes: number;
      /** Off-site copies deleted by their own counts, and those the bucket kept (its lock, a no-delete policy). */
      offsite?: {
        deleted: { id: string; env: string; bytes: number; reason: string }[];
        freedBytes: number;
        left: { id: string; note: string }[];
      };
    }
  | {
      kind: "supabase-upgrade";
      env: string;
      ref: string;
      running: boolean;
      currentVersion: string | null;
      targetVersion: string | null;
      lastPreUpgrade: BackupRef | null;
    };

/** "15.8" out of `SHOW server_version` ("15.8 (Debian …)") or version() ("PostgreSQL 15.8 on …"). */
export function pgVersionNumber(text: string): string {
  return /\b(\d+(?:\.\d+)+)\b/.exec(text)?.[1] ?? /\b(\d+)\b/.exec(text)?.[1] ?? text.trim();
}
