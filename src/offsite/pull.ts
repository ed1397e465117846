import { createHash } from "node:crypto";
import { accessSync, constants, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createInProgressDir, releaseInProgressDir } from "../backup/work-dirs.js";
import type { Config } from "../config.js";
import { DbBackupError } from "../errors.js";
import type { OffsiteSettings } from "../offsite-settings.js";
import { stateFor } from "../state/open.js";
import type { StateStore } from "../state/store.js";
import { decrypt } from "./age.js";
import { offsiteFor } from "./copy.js";
import { MANIFEST_NAME, type OffsiteIndex } from "./index-file.js";
import { readIndex } from "./list.js";
import { s3Client } from "./s3-client.js";
import { explainS3Error } from "./s3-errors.js";

export interface PullRequest {
  /** --identity, else DBBACKUP_AGE_IDENTITY_FILE. */
  identityFile?: string | undefined;
  /** The backups folder to put it in (default: the configured one). */
  root?: string;
  signal?: AbortSignal | undefined;
}

export interface PulledBackup {
  id: string;
  dir: string;
  index: OffsiteIndex;
  bytes: number;
}

/** The identity file to decrypt with, checked readable, or what to give. */
export function identityFor(settings: OffsiteSettings, given: string | undefined): string {
  const file = given ?? settings.identityFile;
  if (!file)
    throw new DbBackupError(
      "identity_missing",
      "Decrypting an off-site copy needs the age identity (private key) it was encrypted to.",
      "Give --identity key.txt, or set DBBACKUP_AGE_IDENTITY_FILE on the host that restores.",
    );
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new DbBackupError(
      "identity_unreadable",
      `The identity file ${file} can't be read.`,
      "Give --identity the path of the age key file (AGE-SECRET-KEY-1…).",
    );
  }
  return path.resolve(file);
}

/**
 * Fetches copy `id` from the bucket, checks each object's sha256 against its index, decrypts it,
 * and files it in the backups folder (manifest last, then renamed into place): a pull cut short
 * leaves only a hidden folder the next run removes. The caller re-verifies it.
 */
export async function pullOffsite(config: Config, id: string, request: PullRequest): Promise<PulledBackup> {
  const settings = offsiteFor(config, false);
  const identity = identityFor(settings, request.identityFile);
  const client = s3Client(settings);
  const index = await readIndex(client, settings, id);
  if (!index)
    throw new DbBackupError(
      "not_found",
      `${settings.url} holds no whole copy of ${id}.`,
      "Run `dbbackup list --offsite` to see the copies it holds.",
    );
  const root = request.root ?? config.backupsDir;
  const dir = path.join(root, id);
  if (existsSync(dir))
    throw new DbBackupError(
      "id_taken",
      `Backup ${id} is already in ${root}.`,
      "`dbbackup verify <ID>` checks it; remove the folder first to fetch the off-site copy instead.",
    );
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const state = stateFor({ backupsDir: root, leaseMs: config.leaseMs, stateUrl: config.stateUrl });
  const work = createInProgressDir(root, id, state);
  try {
    const hint = index.recipients.map((r) => r.hint).join(", ");
    const files = [
      ...index.files.filter((f) => f.name !== MANIFEST_NAME),
      ...index.files.filter((f) => f.name === MANIFEST_NAME),
    ];
    for (const file of files)
      await fetchFile(client, settings, state, {
        ...file,
        dir: work,
        identity,
        hint,
        signal: request.signal,
      });
    releaseInProgressDir(work);
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return { id, dir, index, bytes: index.files.reduce((n, f) => n + f.bytes, 0) };
}

interface FetchedFile {
  name: string;
  key: string;
  sha256: string;
  dir: string;
  identity: string;
  hint: string;
  signal?: AbortSignal | undefined;
}

async function fetchFile(
  client: S3Client,
  settings: OffsiteSettings,
  state: StateStore,
  file: FetchedFile,
): Promise<void> {
  if (path.basename(file.name) !== file.name || file.name.startsWith("."))
    throw new DbBackupError(
      "offsite_damaged",
      `The copy's index names a file ${JSON.stringify(file.name)} outside its folder.`,
      "Don't trust this copy; take a fresh one.",
    );
  let body: Readable;
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: file.key }), {
      abortSignal: file.signal,
    });
    body = r.Body as Readable;
  } catch (error) {
    throw explainS3Error(error, settings, `fetching ${file.key}`);
  }
  const hash = createHash("sha256");
  const hashed = new PassThrough();
  let cut: unknown;
  hashed.on("data", (chunk: Buffer) => hash.update(chunk));
  body.on("error", (error) => {
    cut = error;
    hashed.destroy(error);
  });
  body.pipe(hashed);
  const opened = decrypt(state, hashed, file.identity, file.hint, file.signal);
  const [written, aged] = await Promise.allSettled([
    pipeline(opened.output, createWriteStream(path.join(file.dir, file.name), { mode: 0o600 })),
    opened.done,
  ]);
  // The network cut first explains age's complaint about a short input; else age says what it saw.
  if (cut) throw explainS3Error(cut, settings, `fetching ${file.key}`);
  if (aged.status === "rejected") throw aged.reason;
  if (written.status === "rejected") throw explainS3Error(written.reason, settings, `writing ${file.name}`);
  if (hash.digest("hex") !== file.sha256)
    throw new DbBackupError(
      "offsite_damaged",
      `The stored ${file.name} is not what was proven when it was copied (sha256 differs).`,
      "Someone or something changed the object in the bucket; restore from another copy.",
    );
}
