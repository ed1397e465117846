import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { StateStore } from "../state/store.js";
import { SCRATCH_OWNER_FILE, SCRATCH_PREFIX } from "./scratch-owner.js";
import { initdbFailed, makeCertificate, type RunAs, writeOwned } from "./scratch-setup.js";
import type { ServerBinaries } from "./server-binaries.js";

/**
 * A scratch server's files before it starts: its temp folder (marked with the run that owns it),
 * the initdb'd data dir, the socket dir, and its settings.
 */

/** What of a scratch server's options shapes its files (a ScratchServerOptions fits). */
export interface ClusterOptions {
  major: number;
  settings?: Record<string, string>;
  password?: string;
  hbaLines?: string[];
  ssl?: boolean;
  owner?: StateStore;
}

/** Where a scratch server lives and as whom it runs. */
export interface ScratchLayout {
  bins: ServerBinaries;
  runAs: RunAs | undefined;
  root: string;
  dataDir: string;
  socketDir: string;
  /** uid/gid for the spawned binaries when running as another user. */
  spawnAs: { uid?: number; gid?: number };
  /** Removes the whole temp folder. */
  cleanup: () => void;
}

/** The temp folder (marked with its owner, if any) holding the data dir and the socket dir. */
function makeScratchRoot(
  options: ClusterOptions,
  runAs: RunAs | undefined,
): { root: string; dataDir: string; socketDir: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), `${SCRATCH_PREFIX}${options.major}-`));
  if (options.owner) {
    options.owner.holdLease("restore test");
    writeFileSync(
      path.join(root, SCRATCH_OWNER_FILE),
      JSON.stringify({ instance: options.owner.instance().id, state: options.owner.location }),
    );
  }
  const dataDir = path.join(root, "data");
  const socketDir = path.join(root, "sock");
  mkdirSync(socketDir);
  if (runAs) {
    chownSync(root, runAs.uid, runAs.gid);
    chownSync(socketDir, runAs.uid, runAs.gid);
  }
  return { root, dataDir, socketDir };
}

/** initdb with the auth the options ask for, then pg_hba.conf and the certificate; the folder goes on failure. */
/**
 * The temp folder of a new scratch server, with an initialized cluster in it; the folder is
 * removed again if initdb fails.
 */
export async function prepareScratchCluster(
  options: ClusterOptions,
  bins: ServerBinaries,
  runAs: RunAs | undefined,
): Promise<ScratchLayout> {
  const { root, dataDir, socketDir } = makeScratchRoot(options, runAs);
  const layout: ScratchLayout = {
    bins,
    runAs,
    root,
    dataDir,
    socketDir,
    spawnAs: runAs ? { uid: runAs.uid, gid: runAs.gid } : {},
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  await initCluster(options, layout);
  return layout;
}

async function initCluster(options: ClusterOptions, layout: ScratchLayout): Promise<void> {
  const { bins, runAs, root, dataDir } = layout;
  const initArgs = ["-D", dataDir, "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"];
  if (options.password !== undefined) {
    const pwfile = path.join(root, "pwfile");
    writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    initArgs.push(`--pwfile=${pwfile}`, "--auth-local=trust", "--auth-host=scram-sha-256");
  } else {
    initArgs.push("--auth=trust");
  }
  try {
    await execa(path.join(bins.binDir, "initdb"), initArgs, {
      ...layout.spawnAs,
      cwd: root,
      env: { LC_ALL: "C" },
    });
    rmSync(path.join(root, "pwfile"), { force: true });
    if (options.hbaLines)
      writeOwned(path.join(dataDir, "pg_hba.conf"), `${options.hbaLines.join("\n")}\n`, runAs);
    if (options.ssl) await makeCertificate(dataDir, runAs);
  } catch (error) {
    layout.cleanup();
    throw initdbFailed(error, options.major, bins.origin);
  }
}

export function serverSettings(options: ClusterOptions, socketDir: string): Record<string, string> {
  return {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: socketDir,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "50",
    // Containers often give /dev/shm only 64 MB; files in the data dir work everywhere.
    dynamic_shared_memory_type: "mmap",
    ...(options.ssl ? { ssl: "on" } : {}),
    ...options.settings,
  };
}
