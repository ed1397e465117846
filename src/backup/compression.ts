import { DbBackupError } from "../errors.js";

/**
 * When nothing better is known (no sample, see compression-sample.ts). Measured, not guessed (`npm
 * run bench`, 550 MB of prose-like rows): gzip:1 dumps 2.3x faster than pg_dump's default but 1.20x
 * bigger; gzip:4 is still 1.9x faster at 1.06x the size. zstd (pg_dump ≥ 16) beats gzip on both.
 */
export function defaultCompression(clientMajor: number): string {
  return clientMajor >= 16 ? "zstd" : "gzip:4";
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
