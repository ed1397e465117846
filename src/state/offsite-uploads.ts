import { z } from "zod/v3";
import { type DocSpec, type StateStore, updateDoc } from "./store.js";

const uploadSchema = z.object({
  key: z.string(),
  uploadId: z.string(),
  /** The instance uploading: its parts are abandoned once it is dead. */
  instance: z.string(),
  startedAt: z.string(),
  /** Its abort was refused or didn't arrive: any later run tries again. */
  abortFailed: z.boolean().default(false),
});
export type OpenUpload = z.infer<typeof uploadSchema>;

const uploadsDoc: DocSpec<{ uploads: OpenUpload[] }> = {
  name: "offsite-uploads",
  schema: z.object({ uploads: z.array(uploadSchema) }),
  empty: () => ({ uploads: [] }),
};

/**
 * Multipart uploads in flight, so their parts never stay behind in the bucket: one this run couldn't
 * abort, or one a killed run left, is aborted by the next run that copies.
 */
export class OpenUploads {
  constructor(private readonly store: StateStore) {}

  add(key: string, uploadId: string): Promise<void> {
    this.store.holdLease("off-site upload");
    const record: OpenUpload = {
      key,
      uploadId,
      instance: this.store.instance().id,
      startedAt: new Date().toISOString(),
      abortFailed: false,
    };
    return updateDoc(this.store, uploadsDoc, (s) => ({
      next: { uploads: [...s.uploads, record] },
      result: undefined,
    }));
  }

  remove(uploadId: string): Promise<void> {
    return updateDoc(this.store, uploadsDoc, (s) => ({
      next: { uploads: s.uploads.filter((u) => u.uploadId !== uploadId) },
      result: undefined,
    }));
  }

  markAbortFailed(uploadId: string): Promise<void> {
    return updateDoc(this.store, uploadsDoc, (s) => ({
      next: { uploads: s.uploads.map((u) => (u.uploadId === uploadId ? { ...u, abortFailed: true } : u)) },
      result: undefined,
    }));
  }

  /** Uploads nobody will finish: their instance is dead, or their abort failed. */
  async abandoned(): Promise<OpenUpload[]> {
    const { uploads } = await this.store.read(uploadsDoc);
    const found: OpenUpload[] = [];
    for (const u of uploads) {
      if (u.abortFailed || (await this.store.liveness(u.instance)).state === "dead") found.push(u);
    }
    return found;
  }
}
