/** `dbbackup list` over 1,000 backups: the CLI as a person runs it, and the listing work alone. */
import { mkdir } from "node:fs/promises";
import { listBackups } from "../src/backup/catalog.js";
import { stateFor } from "../src/state/open.js";
import { cliPath, repoRoot } from "./dbbackup-cli.js";
import { median } from "./format.js";
import { type FakeBackup, fakeBackupId, makeFakeBackups, measureCommand } from "./measure.js";

const FAKE_ENVS = ["staging", "prod", "eu-west"];
const FAKE_LABELS = [undefined, "pre-upgrade", "nightly", "migration-42"];

/** Backup i of 1,000: the real manifest of the bench's backup, re-labelled. */
function fakeBackup(template: Record<string, unknown>, i: number): FakeBackup {
  const env = FAKE_ENVS[i % FAKE_ENVS.length] ?? "staging";
  const label = FAKE_LABELS[i % FAKE_LABELS.length];
  const id = fakeBackupId(i, env, label);
  const finishedAt = new Date(Date.UTC(2025, 5, 30, 12) - i * 6 * 3600 * 1000).toISOString();
  return { id, manifest: { ...template, id, env, label: label ?? null, finishedAt } };
}

export interface ListTimes {
  /** `dbbackup list --json` as a person runs it: Node's start-up included. */
  cliMs: number;
  /** The same with no backups at all: what start-up alone costs. */
  emptyCliMs: number;
  /** listBackups() itself, in this process: the listing work. */
  inProcessMs: number;
}

/** `list` over 1,000 backups: medians of 5 runs each. */
export async function dbbackupList(
  backupsDir: string,
  template: Record<string, unknown>,
): Promise<ListTimes> {
  const emptyDir = `${backupsDir}-empty`;
  await mkdir(emptyDir, { recursive: true });
  const empty: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await measureCommand(process.execPath, [cliPath, "list", "--json"], {
      cwd: repoRoot,
      env: { DBBACKUP_DIR: emptyDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    empty.push(run.ms);
  }
  await makeFakeBackups(backupsDir, 1000, (i) => fakeBackup(template, i));
  const inProcess: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const listing = await listBackups(backupsDir, stateFor({ backupsDir, leaseMs: 60_000 }));
    inProcess.push(performance.now() - t0);
    if (listing.backups.length !== 1000)
      throw new Error(`listBackups found ${listing.backups.length} of 1000`);
  }
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await measureCommand(process.execPath, [cliPath, "list", "--json"], {
      cwd: repoRoot,
      env: { DBBACKUP_DIR: backupsDir, PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    if (run.exitCode !== 0) throw new Error(`dbbackup list exited ${run.exitCode}: ${run.stderr.trim()}`);
    const listed = (JSON.parse(run.stdout) as { backups: unknown[] }).backups.length;
    if (listed !== 1000) throw new Error(`dbbackup list showed ${listed} of 1000 backups`);
    times.push(run.ms);
  }
  return { cliMs: median(times) ?? 0, emptyCliMs: median(empty) ?? 0, inProcessMs: median(inProcess) ?? 0 };
}
