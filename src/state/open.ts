import { fileStateFor } from "./file-store.js";
import { pgStateFor } from "./pg-store.js";
import type { StateStore } from "./store.js";

export interface StateSettings {
  backupsDir: string;
  leaseMs: number;
  /** DBBACKUP_STATE_URL: a Postgres database shared by every replica and worker. */
  stateUrl?: string | undefined;
}

/**
 * The state store: in Postgres when DBBACKUP_STATE_URL is set (several hosts), otherwise files under
 * `<backups>/.state/`, the embedded default.
 */
export function stateFor(settings: StateSettings): StateStore {
  if (settings.stateUrl) return pgStateFor(settings.stateUrl, { leaseMs: settings.leaseMs });
  return fileStateFor(settings.backupsDir, { leaseMs: settings.leaseMs });
}
