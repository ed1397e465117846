import { DbBackupError } from "../errors.js";

/** The default the runbook's speed goal picks: cheap gzip where pg_dump has nothing better. */
export function defaultCompression(clientMajor: number): string {
  return clientMajor >= 16 ? "zstd" : "gzip:1";
}

/** `gzip:1` / `zstd:3` / `none` / `6` → pg_dump arguments for that client's major. */
export function compressionArgs(spec: string, clientMajor: number): string[] {
  if (clientMajor >= 16) return [`--compress=${spec}`];
  // pg_dump ≤ 15 knows only gzip levels 0–9.
  if (spec === "none") return ["-Z", "0"];
  if (/^[0-9]$/.test(spec)) return ["-Z", spec];
  const gzip = /^gzip(?::([1-9]))?$/.exec(spec);
  if (gzip) return ["-Z", gzip[1] ?? "6"];
  throw new DbBackupError(
    "compress_unsupported",
    `DBBACKUP_COMPRESS=${spec} needs pg_dump 16 or newer; this pg_dump is ${clientMajor}.`,
    "Use gzip:1 … gzip:9 (or none) with pg_dump 15 and older, or unset DBBACKUP_COMPRESS.",
  );
}
