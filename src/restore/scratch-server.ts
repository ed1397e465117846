import { createServer } from "node:net";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import pg from "pg";
import { tiedToUs } from "../backup/child-lifetime.js";
import { DbBackupError } from "../errors.js";
import type { StateStore } from "../state/store.js";
import { prepareScratchCluster, type ScratchLayout, serverSettings } from "./scratch-cluster.js";
import { firstUnreachable, runAsUser, unreachableBinaries } from "./scratch-setup.js";
import { findServerBinaries, type ServerBinaries } from "./server-binaries.js";

export interface ScratchServer {
  major: number;
  host: "127.0.0.1";
  port: number;
  user: "postgres";
  /** A URL with no password: the server trusts local connections and lives only as long as we do. */
  url(database?: string): string;
  stop(): Promise<void>;
}

export interface ScratchServerOptions {
  major: number;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  /** Require this password (scram) over TCP for the postgres user; local sockets stay trusted. */
  password?: string;
  /** Replace pg_hba.conf with these lines (tests of refused or SSL-only connections). */
  hbaLines?: string[];
  /** Serve SSL with a throwaway self-signed certificate. */
  ssl?: boolean;
  /** These server binaries instead of the ones found for `major`. */
  binaries?: ServerBinaries;
  /**
   * The state of the run that needs it: the server dies with this process (an immediate shutdown),
   * and its folder records the owner, so a later start removes what a killed run left.
   */
  owner?: StateStore;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** Synchronous killers of servers still running, for the process's last moment. */
const live = new Map<ScratchServer, () => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const kill of live.values()) kill();
  });
}

/** Readiness is checked over the Unix socket, which stays trusted whatever TCP demands. */
/** Ports tried when another process takes the free one first. */
const PORT_ATTEMPTS = 3;

async function waitReady(
  socketDir: string,
  port: number,
  child: ResultPromise,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const client = new pg.Client({
      host: socketDir,
      port,
      user: "postgres",
      database: "postgres",
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new DbBackupError(
    "scratch_server_failed",
    `The scratch Postgres server did not start: ${lastError instanceof Error ? lastError.message : "exited"}`,
    `Its log said: ${log().trim().split("\n").slice(-3).join(" | ") || "(nothing)"}`,
  );
}

/** Starts postgres on `port`, keeping the tail of its output for error messages. */
function spawnPostgres(
  options: ScratchServerOptions,
  layout: ScratchLayout,
  settings: Record<string, string>,
  port: number,
): { child: ResultPromise; output: () => string } {
  const postgres = path.join(layout.bins.binDir, "postgres");
  const args = ["-D", layout.dataDir, "-p", String(port)];
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`);
  let output = "";
  const spawn = options.owner
    ? tiedToUs(options.owner, postgres, args, "QUIT")
    : { file: postgres, args, env: {} };
  const child = execa(spawn.file, spawn.args, {
    ...layout.spawnAs,
    cwd: layout.root,
    env: { LC_ALL: "C", ...spawn.env },
    reject: false,
    buffer: false,
    stdin: "ignore",
  });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return { child, output: () => output };
}

/** The handle of a started server, registered so that the process's exit kills it. */
function scratchHandle(
  options: ScratchServerOptions,
  layout: ScratchLayout,
  port: number,
  child: ResultPromise,
): ScratchServer {
  let stopped: Promise<void> | undefined;
  const server: ScratchServer = {
    major: options.major,
    host: "127.0.0.1",
    port,
    user: "postgres",
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop() {
      stopped ??= (async () => {
        live.delete(server);
        if (child.exitCode === null) {
          child.kill("SIGINT"); // fast shutdown
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await child;
          clearTimeout(timer);
        }
        layout.cleanup();
      })();
      return stopped;
    },
  };
  live.set(server, () => {
    child.kill("SIGKILL");
    layout.cleanup();
  });
  installExitHook();
  return server;
}

/** A throwaway Postgres on 127.0.0.1 with its data in a temp dir that is removed on stop. */
export async function startScratchServer(options: ScratchServerOptions): Promise<ScratchServer> {
  const bins = options.binaries ?? findServerBinaries(options.major);
  const runAs = runAsUser();
  if (runAs) {
    const blocked = firstUnreachable(bins.binDir, runAs);
    if (blocked) throw unreachableBinaries(bins, blocked, runAs);
  }
  const layout = await prepareScratchCluster(options, bins, runAs);
  const settings = serverSettings(options, layout.socketDir);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const { child, output } = spawnPostgres(options, layout, settings, port);
    const server = scratchHandle(options, layout, port, child);
    try {
      await waitReady(layout.socketDir, port, child, output);
      return server;
    } catch (error) {
      // Between freePort() and postgres binding it, another process may take the port: try another.
      const portTaken = child.exitCode !== null && /could not bind|address already in use/i.test(output());
      if (portTaken && attempt < PORT_ATTEMPTS) {
        live.delete(server);
        continue;
      }
      await server.stop();
      throw error;
    }
  }
}
