import type { StageName } from "./manifest.js";

export type BackupStep = "connect" | "dump" | "schema" | "catalog" | "verify" | "finalize";

/** What the engine tells its listeners (terminal, Slack); nothing here knows how it is shown. */
export type BackupEvent =
  | { type: "started"; id: string; env: string; label: string | null; target: string; source: string }
  | { type: "warning"; message: string }
  | { type: "step"; step: BackupStep; status: "started" | "finished"; ms?: number; detail?: string }
  | { type: "tables"; done: number; total: number | undefined; table: string }
  | { type: "bytes"; bytes: number; elapsedMs: number }
  | { type: "stage"; stage: StageName; ok: boolean; ms: number }
  | { type: "cleaned"; paths: string[] };

export type BackupListener = (event: BackupEvent) => void;
