/** A scratch server's folder in the temp dir, and the file in it that says whose it is. */
export const SCRATCH_PREFIX = "dbbackup-pg";
export const SCRATCH_OWNER_FILE = "owner.json";
