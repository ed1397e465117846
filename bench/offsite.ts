/**
 * Off-site copy figures for `npm run bench`: copyOffsite() of the bench's real backup folder against
 * the same files encrypted with the same `age` binary and streamed to the same s3rver with the same
 * S3 client settings and part size (bench/offsite-direct.ts), and the RSS of the process doing the
 * copy during it against just before. Each copy and each direct run gets a fresh process of its own
 * (bench/offsite-run.ts says why); the server runs in another (bench/offsite-s3.ts), and age runs as
 * child processes: none of those is counted in the copy's RSS.
 */
import { execFile } from "node:child_process";
import { link, mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { S3Client } from "@aws-sdk/client-s3";
import { ageBinaries } from "../src/offsite/age.js";
import { s3Client } from "../src/offsite/s3-client.js";
import { mebibytes, median, pairedRatio, seconds } from "./format.js";
import { MB } from "./measure.js";
import { emptyPrefix } from "./offsite-direct.js";
import { runJob } from "./offsite-run.js";
import { type BenchS3, startBenchS3 } from "./offsite-s3.js";

const run = promisify(execFile);

export interface AgeKey {
  keyFile: string;
  recipient: string;
  remove(): Promise<void>;
}

/** A throwaway age identity in `dir` (age-keygen -o), and its public key (age-keygen -y). */
export async function makeAgeKey(dir: string): Promise<AgeKey> {
  const keyFile = path.join(dir, "offsite-bench-key.txt");
  const { keygen } = ageBinaries();
  await run(keygen, ["-o", keyFile], { timeout: 10_000 });
  const recipient = (await run(keygen, ["-y", keyFile], { timeout: 10_000 })).stdout.trim();
  return { keyFile, recipient, remove: () => rm(keyFile, { force: true }) };
}

export interface OffsiteRound {
  copyMs: number;
  directMs: number;
  idleRssBytes: number;
  peakRssBytes: number;
  /** The direct way's own peak over its idle, for comparison (logged). */
  directRssOverBytes: number;
  copyBytes: number;
  directBytes: number;
  files: number;
  proof: string;
}

/** The bench backup's files in the order copyOffsite sends them: the manifest's list, manifest.json last. */
async function backupFiles(backupDir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(path.join(backupDir, "manifest.json"), "utf8")) as {
    files?: { name?: unknown }[];
  };
  const names = (manifest.files ?? []).map((f) => String(f.name)).filter((n) => n !== "manifest.json");
  return [...names, "manifest.json"];
}

/** A fresh backups folder holding `id` (hard links, so the same pages): no state, no earlier copy recorded. */
async function freshRoot(sourceDir: string, root: string, id: string): Promise<void> {
  await mkdir(path.join(root, id), { recursive: true });
  for (const entry of await readdir(sourceDir, { withFileTypes: true }))
    if (entry.isFile()) await link(path.join(sourceDir, entry.name), path.join(root, id, entry.name));
}

interface Bench {
  s3: BenchS3;
  client: S3Client;
  key: AgeKey;
  sourceDir: string;
  id: string;
  names: string[];
  scratch: string;
}

/** One round: copyOffsite and the direct way, each in a fresh process, in an order that alternates. */
async function offsiteRound(b: Bench, round: number): Promise<OffsiteRound> {
  const root = path.join(b.scratch, `round-${round}`);
  await freshRoot(b.sourceDir, root, b.id);
  const env = {
    ...b.s3.env,
    DBBACKUP_DIR: root,
    DBBACKUP_OFFSITE_URL: `s3://${b.s3.bucket}/copy-${round}`,
    DBBACKUP_AGE_RECIPIENTS: b.key.recipient,
    PATH: process.env.PATH ?? "/usr/bin:/bin",
  };
  const warmFile = path.join(b.sourceDir, "manifest.json");
  const copy = () => runJob({ kind: "copy", cwd: root, env, warmFile, id: b.id });
  const files = b.names.map((n) => ({
    file: path.join(b.sourceDir, n),
    key: `direct-${round}/${b.id}/${n}.age`,
  }));
  const direct = () => runJob({ kind: "direct", cwd: root, env, warmFile, files });
  try {
    const first = round % 2 === 0 ? await copy() : undefined;
    const d = await direct();
    const c = first ?? (await copy());
    if (c.already) throw new Error("copyOffsite found an earlier copy: nothing was timed");
    return {
      copyMs: c.ms,
      directMs: d.ms,
      idleRssBytes: c.idleRssBytes,
      peakRssBytes: c.peakRssBytes,
      directRssOverBytes: d.peakRssBytes - d.idleRssBytes,
      copyBytes: c.bytes,
      directBytes: d.bytes,
      files: c.files,
      proof: c.proof,
    };
  } finally {
    await emptyPrefix(b.client, b.s3.bucket, `copy-${round}/`);
    await emptyPrefix(b.client, b.s3.bucket, `direct-${round}/`);
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * `rounds` off-site copies of the one backup in `backupsDir` to a fresh s3rver, each against the
 * direct way. The server's folder lives under `scratch` and is removed at the end, also on failure.
 */
export async function measureOffsite(
  backupsDir: string,
  key: AgeKey,
  rounds: number,
  scratch: string,
  log: (line: string) => void,
): Promise<OffsiteRound[]> {
  const ids = (await readdir(backupsDir, { withFileTypes: true })).filter(
    (d) => d.isDirectory() && !d.name.startsWith("."),
  );
  const id = ids[0]?.name;
  if (ids.length !== 1 || !id) throw new Error(`expected one backup folder in ${backupsDir}`);
  await mkdir(scratch, { recursive: true });
  const s3 = await startBenchS3(scratch);
  const client = s3Client({
    url: `s3://${s3.bucket}`,
    bucket: s3.bucket,
    prefix: "",
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    recipients: [key.recipient],
    keepOnDemand: 0,
    keepPreUpgrade: 0,
    credentials: () => ({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }),
  });
  try {
    const sourceDir = path.join(backupsDir, id);
    const b: Bench = { s3, client, key, sourceDir, id, names: await backupFiles(sourceDir), scratch };
    const results: OffsiteRound[] = [];
    for (let round = 0; round < rounds; round++) {
      const r = await offsiteRound(b, round);
      results.push(r);
      log(
        `off-site copy: ${(r.copyMs / 1000).toFixed(1)} s (${r.files} files, ${(r.copyBytes / MB).toFixed(1)} MB encrypted, proof ${r.proof}), ` +
          `direct age + upload ${(r.directMs / 1000).toFixed(1)} s (${(r.directBytes / MB).toFixed(1)} MB), ` +
          `copy RSS ${(r.idleRssBytes / MB).toFixed(1)} → ${(r.peakRssBytes / MB).toFixed(1)} MB ` +
          `(direct way: +${(r.directRssOverBytes / MB).toFixed(1)} MB)`,
      );
      if (r.copyBytes !== r.directBytes)
        log(`off-site: the two ways sent different sizes (${r.copyBytes} ≠ ${r.directBytes})`);
    }
    return results;
  } finally {
    client.destroy();
    await s3.stop();
  }
}

/** The table's two rows (medians over the rounds, the median of each round's ratio; n/a when nothing was measured). */
export function offsiteRows(results: OffsiteRound[] | undefined): string[][] {
  const r = results ?? [];
  const copyMs = median(r.map((x) => x.copyMs));
  const directMs = median(r.map((x) => x.directMs));
  const idle = median(r.map((x) => x.idleRssBytes));
  const peak = median(r.map((x) => x.peakRssBytes));
  const over = median(r.map((x) => x.peakRssBytes - x.idleRssBytes));
  const bytes = median(r.map((x) => x.copyBytes));
  const paired = pairedRatio(
    r.map((x) => x.copyMs),
    r.map((x) => x.directMs),
  );
  return [
    [
      `off-site copy (${mebibytes(bytes)} encrypted) vs direct age + multipart upload, same s3rver`,
      seconds(copyMs),
      seconds(directMs),
      paired === undefined ? "n/a" : paired.toFixed(2),
      "≤ 1.15",
    ],
    [
      "off-site copy RSS over idle (the copying process; age children not counted)",
      mebibytes(peak),
      mebibytes(idle),
      over === undefined ? "n/a" : `+${(over / MB).toFixed(1)} MB`,
      "≤ +64 MB",
    ],
  ];
}
