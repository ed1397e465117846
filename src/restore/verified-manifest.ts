import { type Manifest, readManifest } from "../backup/manifest.js";
import { DbBackupError } from "../errors.js";

/** The backup's manifest, which must be readable and must have passed stage 2. */
export async function readVerifiedManifest(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    throw new DbBackupError(
      "bad_manifest",
      `${dir} has no readable manifest.json: ${error instanceof Error ? error.message : String(error)}`,
      "Only a complete dbbackup backup can be restore-tested; take a new one.",
    );
  }
  if (manifest.verification.stage === null) {
    throw new DbBackupError("not_verified", `${manifest.id} never passed stage 2.`, "Take a new backup.");
  }
  return manifest;
}
