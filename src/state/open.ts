import { fileStateFor } from "./file-store.js";
import type { StateStore } from "./store.js";

export interface StateSettings {
  backupsDir: string;
  leaseMs: number;
}

/** The state store of a backups folder: files under `<backups>/.state/`, the embedded default. */
export function stateFor(settings: StateSettings): StateStore {
  return fileStateFor(settings.backupsDir, { leaseMs: settings.leaseMs });
}
