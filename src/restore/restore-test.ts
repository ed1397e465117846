import { annotateBackup } from "../backup/annotate-backup.js";
import { locateBackup, recordableId } from "../backup/locate.js";
import type { Manifest, StageResult } from "../backup/manifest.js";
import { findPgTools } from "../backup/pgtools.js";
import { markInUse } from "../backup/restore-lock.js";
import { DUMP_FILE, verifyDumped } from "../backup/verify.js";
import type { Config } from "../config.js";
import type { RestoreTestRecord } from "../state/annotations.js";
import { appendDrill } from "../state/drill-log.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import type { ComparedKind, Parity, ParityRow } from "./parity.js";
import { type RestoreStep, restoreAndCompare, type Step } from "./restore-compare.js";
import { type ScratchServer, startScratchServer } from "./scratch-server.js";
import { readVerifiedManifest } from "./verified-manifest.js";

export type { RestoreStep } from "./restore-compare.js";

export type RestoreEvent =
  | { type: "started"; id: string; serverMajor: number }
  | { type: "step"; step: RestoreStep; status: "started" | "finished"; ms?: number; detail?: string };

export interface RestoreTestRequest {
  config: Config;
  ref: string;
  env?: string | undefined;
  requestedBy: string;
  cwd: string;
  /** Leave the scratch server running and hand it back (the caller stops it). */
  keepServer?: boolean;
  signal?: AbortSignal | undefined;
  onEvent?: (event: RestoreEvent) => void;
}

export interface RestoreTestOutcome {
  ok: boolean;
  id: string;
  dir: string;
  env: string;
  ms: number;
  serverMajor: number;
  parity: ParityRow[];
  /** Which kinds of object were compared; empty when nothing was restored. */
  compared: ComparedKind[];
  /** False for a folder outside the backups folder (a copy): tested, but nothing recorded for the id. */
  recorded: boolean;
  /** Only with keepServer: the scratch server, still running. */
  server?: ScratchServer;
}

/** A Step that reports each step's start and finish (with its time) through `emit`. */
function stepReporter(emit: (event: RestoreEvent) => void): Step {
  return async (name, fn, detail) => {
    emit({ type: "step", step: name, status: "started" });
    const t0 = performance.now();
    const value = await fn();
    emit({
      type: "step",
      step: name,
      status: "finished",
      ms: Math.round(performance.now() - t0),
      ...(detail ? { detail: detail(value) } : {}),
    });
    return value;
  };
}

interface Finding {
  manifest: Manifest;
  dir: string;
  /** The backup's id when the tested folder is the backup itself (not a copy). */
  recordAs: string | undefined;
  by: string;
  ok: boolean;
  ms: number;
  parity: Parity;
  dumpSha256: string | undefined;
}

/** The result on the backup (when it is one of ours) and in the drill log, pass or fail. */
async function recordFinding(state: StateStore, root: string, f: Finding): Promise<void> {
  const at = new Date().toISOString();
  if (f.recordAs)
    await record(state, root, f.recordAs, {
      at,
      by: f.by,
      ok: f.ok,
      ms: f.ms,
      serverMajor: f.manifest.server.major,
      parity: f.parity.rows,
      compared: f.parity.compared,
    });
  await appendDrill(state, {
    at,
    by: f.by,
    backupId: f.manifest.id,
    env: f.manifest.env,
    ok: f.ok,
    ms: f.ms,
    serverMajor: f.manifest.server.major,
    summary: summarize(f.parity.rows),
    dir: f.dir,
    ...(f.dumpSha256 ? { dumpSha256: f.dumpSha256 } : {}),
    ofBackup: f.recordAs !== undefined,
  });
}

/**
 * Stage 3 `restored`: restore the archive into a disposable Postgres of the dump's major and
 * compare it with what the manifest recorded at dump time. The result goes into the manifest and
 * the drill log, pass or fail.
 */
export async function runRestoreTest(request: RestoreTestRequest): Promise<RestoreTestOutcome> {
  const emit = request.onEvent ?? (() => {});
  const root = request.config.backupsDir;
  const state = stateFor(request.config);
  const located = await locateBackup(root, state, request.ref, request.cwd, request.env);
  const { dir } = located;
  const manifest = await readVerifiedManifest(dir);
  const started = performance.now();
  const recordAs = recordableId(located, manifest.id);
  state.holdLease("restore test");
  const inUse = recordAs ? await markInUse(state, root, recordAs, request.requestedBy) : undefined;
  const step = stepReporter(emit);
  let server: ScratchServer | undefined;
  try {
    emit({ type: "started", id: manifest.id, serverMajor: manifest.server.major });
    // A pg_restore at least as new as the pg_dump that wrote the archive.
    const tools = await findPgTools(manifest.client.major, manifest.client.version, request.config.pgBinDir);
    // Stage 1 again, beside the server's start: the files must still be the ones the manifest hashed.
    const filesCheck = verifyDumped(
      dir,
      manifest.files.map((f) => f.name),
      manifest.files,
    );
    filesCheck.catch(() => {}); // awaited below
    server = await step(
      "server",
      () => startScratchServer({ major: manifest.server.major, owner: state }),
      (s) => `Postgres ${s.major} on 127.0.0.1:${s.port}`,
    );
    const stage1 = await filesCheck;
    // Artifacts that changed since the backup was taken: that is the finding, before any restore.
    const changed = filesChanged(stage1.result);
    const parity: Parity = changed
      ? { rows: changed, compared: [] }
      : await restoreAndCompare(server, tools, dir, manifest, request.signal, step, state);
    const ok = parity.rows.every((row) => row.result !== "failed");
    const dumpSha256 = stage1.result.ok ? stage1.files.find((f) => f.name === DUMP_FILE)?.sha256 : undefined;
    const ms = Math.round(performance.now() - started);
    await recordFinding(state, root, {
      manifest,
      dir,
      recordAs,
      by: request.requestedBy,
      ok,
      ms,
      parity,
      dumpSha256,
    });
    const outcome: RestoreTestOutcome = {
      ok,
      id: manifest.id,
      dir,
      env: manifest.env,
      ms,
      serverMajor: manifest.server.major,
      parity: parity.rows,
      compared: parity.compared,
      recorded: recordAs !== undefined,
    };
    if (request.keepServer) {
      outcome.server = server;
      server = undefined;
    }
    return outcome;
  } finally {
    await inUse?.release();
    await server?.stop();
  }
}

/** The artifacts whose sha256 no longer matches the manifest, as failed parity rows; undefined when none. */
function filesChanged(stage1: StageResult): ParityRow[] | undefined {
  const bad = stage1.checks.filter((c) => !c.ok);
  if (bad.length === 0) return undefined;
  return bad.map((c) => ({
    kind: "file" as const,
    name: c.name,
    expected: "as recorded when the backup was taken",
    actual: c.detail,
    result: "failed" as const,
    note: "the files changed since the backup was taken; nothing was restored",
  }));
}

export function summarize(parity: ParityRow[]): string {
  const count = (r: ParityRow["result"]) => parity.filter((p) => p.result === r).length;
  return `${count("ok")} matched, ${count("expected")} expected differences, ${count("failed")} failed`;
}

/** The result, in the state: never written into the backup's folder, which stays as it was filed. */
async function record(state: StateStore, root: string, id: string, result: RestoreTestRecord): Promise<void> {
  await annotateBackup(state, root, id, "while it was restore-tested", (current) => ({
    next: { ...current, restoreTest: result },
    result: undefined,
  }));
}
