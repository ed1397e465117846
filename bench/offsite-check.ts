/**
 * A quick check of the off-site bench alone, without the 550 MB database: a backup folder with a
 * 100 MB random db_full.dump (BENCH_CHECK_MB to change it), copied BENCH_REPEAT times (default 1)
 * by measureOffsite, the two table rows printed. Everything lives in a temp dir removed at the end.
 *
 *   node --expose-gc --import tsx bench/offsite-check.ts
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { MANIFEST_FILE } from "../src/backup/manifest.js";
import { makeManifest } from "../test/helpers/manifest.js";
import { MB } from "./measure.js";
import { makeAgeKey, measureOffsite, offsiteRows } from "./offsite.js";

const ID = "20250630_120000_bench";
const COMPANIONS = ["schema.sql", "version.txt", "extensions.tsv", "views_reloptions.tsv"];

function count(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** backups/<ID>/ with a random dump of `mb` MiB, small companions and a manifest that lists them. */
async function syntheticBackup(root: string, mb: number): Promise<void> {
  const dir = path.join(root, ID);
  await mkdir(dir, { recursive: true });
  const dump = await open(path.join(dir, "db_full.dump"), "w");
  const hash = createHash("sha256");
  try {
    for (let i = 0; i < mb; i++) {
      const chunk = randomBytes(MB);
      hash.update(chunk);
      await dump.write(chunk);
    }
  } finally {
    await dump.close();
  }
  const files = [{ name: "db_full.dump", bytes: mb * MB, sha256: hash.digest("hex") }];
  for (const name of COMPANIONS) {
    const text = `${name}\n`.repeat(50);
    await writeFile(path.join(dir, name), text);
    files.push({ name, bytes: text.length, sha256: createHash("sha256").update(text).digest("hex") });
  }
  const manifest = makeManifest(ID, { files });
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

async function main(): Promise<void> {
  const mb = count("BENCH_CHECK_MB", 100);
  const rounds = count("BENCH_REPEAT", 1);
  const work = await mkdtemp(path.join(os.tmpdir(), "dbbackup-offsite-check-"));
  try {
    const backups = path.join(work, "backups");
    await syntheticBackup(backups, mb);
    const dumpBytes = (await stat(path.join(backups, ID, "db_full.dump"))).size;
    const key = await makeAgeKey(work);
    const log = (line: string) => process.stderr.write(`[offsite-check] ${line}\n`);
    const results = await measureOffsite(backups, key, rounds, path.join(work, "offsite"), log);
    await key.remove();
    const rows = offsiteRows(results);
    process.stdout.write(`\n${(dumpBytes / MB).toFixed(0)} MB random dump, ${rounds} round(s)\n`);
    for (const row of rows) process.stdout.write(`| ${row.join(" | ")} |\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[offsite-check] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
