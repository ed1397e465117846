import { createHash } from "node:crypto";
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { StateStore } from "../state/store.js";
import type { CatalogCounts } from "./catalog-snapshot.js";
import type { Check, FileEntry, StageResult } from "./manifest.js";
import { runPgProcess } from "./pg-process.js";
import { splitUseLists } from "./read-split.js";
import { parseToc, type Toc, tocCounts } from "./toc.js";

export const DUMP_FILE = "db_full.dump";
export const SCHEMA_FILE = "schema.sql";

/** Up to this size a file is read and hashed in one go; bigger ones 1 MiB at a time. */
const HASH_AT_ONCE_BYTES = 4 * 1024 * 1024;

/**
 * Node's SHA-256 (OpenSSL's, with the CPU's SHA instructions): ~4x coreutils' sha256sum on a
 * large dump (0.19 s against 0.72 s for 235 MB here), in 1 MiB steps of under a millisecond each,
 * so the Slack bot keeps answering meanwhile.
 */
async function sha256(file: string, bytes: number): Promise<string> {
  const hash = createHash("sha256");
  if (bytes <= HASH_AT_ONCE_BYTES) return hash.update(await readFile(file)).digest("hex");
  // One buffer, read into again and again: a stream's fresh chunk per MiB would pile up ~30 MB of
  // garbage on a big dump before it is collected.
  const buffer = Buffer.allocUnsafe(1 << 20);
  const handle = await open(file, "r");
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

function stage(name: StageResult["stage"], started: number, checks: Check[]): StageResult {
  return {
    stage: name,
    ok: checks.every((c) => c.ok),
    at: new Date().toISOString(),
    ms: Math.round(performance.now() - started),
    checks,
  };
}

/**
 * Stages in order, each `at` when it was reached: stage 2 runs beside stage 1 but is reached only
 * when both are done, so its time is never before stage 1's. Pure.
 */
export function inOrder(stages: readonly StageResult[]): StageResult[] {
  let latest = "";
  return stages.map((s) => {
    const at = s.at < latest ? latest : s.at;
    latest = at;
    return at === s.at ? s : { ...s, at };
  });
}

export interface Stage1Result {
  result: StageResult;
  files: FileEntry[];
}

/**
 * Stage 1 `dumped`: every artifact is there, non-empty, and hashed. Given `recorded` (a re-verify),
 * the hashes must also match what the manifest recorded.
 */
export async function verifyDumped(
  dir: string,
  names: string[],
  recorded?: FileEntry[],
): Promise<Stage1Result> {
  const started = performance.now();
  const files: FileEntry[] = [];
  const checks = await Promise.all(
    names.map(async (name): Promise<Check> => {
      const file = path.join(dir, name);
      let bytes: number;
      try {
        bytes = (await stat(file)).size;
      } catch {
        return { name, ok: false, detail: "missing" };
      }
      if (bytes === 0) return { name, ok: false, detail: "empty (0 bytes)" };
      const digest = await sha256(file, bytes);
      files.push({ name, bytes, sha256: digest });
      const before = recorded?.find((f) => f.name === name);
      if (before && before.sha256 !== digest) {
        return {
          name,
          ok: false,
          detail: `sha256 ${digest.slice(0, 12)} differs from recorded ${before.sha256.slice(0, 12)}`,
        };
      }
      return { name, ok: true, detail: `${bytes} bytes, sha256 ${digest.slice(0, 12)}` };
    }),
  );
  files.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  return { result: stage("dumped", started, checks), files };
}

export interface Stage2Result {
  result: StageResult;
  toc: Toc | undefined;
}

const COMPARED: (keyof CatalogCounts)[] = ["tables", "views", "materializedViews", "policies", "extensions"];

export interface ReadOptions {
  signal?: AbortSignal | undefined;
  /** `pg_restore --list` of the archive, already running (the backup shares it); run here otherwise. */
  listed?: Promise<ArchiveList>;
  owner?: StateStore | undefined;
  /** pg_restore processes reading the data at once (its inflating is single-threaded); default 1. */
  parts?: number;
  /** How heavy a table's data is ("public.orders" → e.g. the ms pg_dump spent on it), to balance the parts. */
  weight?: (qualifiedName: string) => number;
}

/** pg_restore's whole environment: no server is reached, and no user's service file is read. */
export const PG_RESTORE_ENV = { PGSERVICEFILE: "/dev/null" };

/** The archive's TOC as `pg_restore --list` printed it (use-lists are made from the text), parsed once. */
export type ArchiveList = { ok: true; stdout: string; toc: Toc } | { ok: false; stderr: string };

/** `pg_restore --list` of the archive in `dir` (~0.01 s): its TOC. */
export async function listArchive(
  dir: string,
  pgRestore: string,
  options: Pick<ReadOptions, "signal" | "owner"> = {},
): Promise<ArchiveList> {
  const listed = await runPgProcess(pgRestore, ["--list", path.join(dir, DUMP_FILE)], {
    env: PG_RESTORE_ENV,
    captureStdout: true,
    signal: options.signal,
    ...(options.owner ? { owner: options.owner } : {}),
  });
  return listed.ok
    ? { ok: true, stdout: listed.stdout, toc: parseToc(listed.stdout) }
    : { ok: false, stderr: listed.stderr };
}

/**
 * `pg_restore -f /dev/null` over the whole archive: every data block read and inflated. In `parts`
 * processes at once when the TOC is known, each with a use-list of its share of the tables.
 */
async function readEveryBlock(
  dump: string,
  pgRestore: string,
  listText: string | undefined,
  options: ReadOptions,
): Promise<{ ok: boolean; stderr: string }> {
  const tie = { signal: options.signal, ...(options.owner ? { owner: options.owner } : {}) };
  const lists =
    listText === undefined ? [] : splitUseLists(listText, options.parts ?? 1, options.weight ?? (() => 1));
  const read = async (args: string[]) => {
    const r = await runPgProcess(pgRestore, ["--file=/dev/null", ...args, dump], {
      env: PG_RESTORE_ENV,
      ...tie,
    });
    return r.ok ? { ok: true, stderr: "" } : { ok: false, stderr: r.stderr };
  };
  if (lists.length <= 1) return read([]);
  const listDir = await mkdtemp(path.join(os.tmpdir(), "dbbackup-read-"));
  try {
    const results = await Promise.all(
      lists.map(async (text, i) => {
        const file = path.join(listDir, `part-${i}.list`);
        await writeFile(file, text);
        return read([`--use-list=${file}`]);
      }),
    );
    return results.find((r) => !r.ok) ?? { ok: true, stderr: "" };
  } finally {
    await rm(listDir, { recursive: true, force: true });
  }
}

/**
 * Stage 2 `readable`: pg_restore can list the archive, its TOC agrees with the live catalog read in
 * the dump's snapshot, and every data block decompresses (`pg_restore -f /dev/null`).
 */
export async function verifyReadable(
  dir: string,
  pgRestore: string,
  live: CatalogCounts | Promise<CatalogCounts>,
  options: ReadOptions = {},
): Promise<Stage2Result> {
  const started = performance.now();
  const liveCounts = Promise.resolve(live);
  liveCounts.catch(() => {}); // awaited below; a failure meanwhile must not count as unhandled
  const dump = path.join(dir, DUMP_FILE);
  // The list first: it says which tables there are to share out among the readers.
  const listed = await (options.listed ?? listArchive(dir, pgRestore, options));
  const readAll = await readEveryBlock(dump, pgRestore, listed.ok ? listed.stdout : undefined, options);
  const checks: Check[] = [];
  let toc: Toc | undefined;
  if (listed.ok) {
    toc = listed.toc;
    checks.push({
      name: "toc",
      // An empty database lists no entries and is still a good backup; the counts below say what's in it.
      ok: true,
      detail: `pg_restore --list: ${toc.entries.length} entries`,
    });
    const counts = tocCounts(toc);
    // The live counts may still be coming (read in the dump's snapshot while the archive is read).
    const liveNow = await liveCounts;
    for (const key of COMPARED) {
      const same = counts[key] === liveNow[key];
      checks.push({
        name: `count:${key}`,
        ok: same,
        detail: same
          ? `${counts[key]} in archive = ${liveNow[key]} live`
          : `${counts[key]} in archive but ${liveNow[key]} live`,
      });
    }
  } else {
    checks.push({ name: "toc", ok: false, detail: `pg_restore --list failed: ${lastLine(listed.stderr)}` });
  }
  checks.push(
    readAll.ok
      ? { name: "data", ok: true, detail: "every data block read (pg_restore -f /dev/null)" }
      : { name: "data", ok: false, detail: `pg_restore -f /dev/null failed: ${lastLine(readAll.stderr)}` },
  );
  return { result: stage("readable", started, checks), toc };
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((l) => l.trim())
      .at(-1) ?? "(no output)"
  );
}
