/** The compression settings the bench compares: the raw baseline's pg_dump args, the survey's levels. */

/** A pg_dump 15 equivalent of dbbackup's compression setting, so the raw baseline matches it. */
function rawArgsFor(compression: string): string[] {
  if (compression === "none") return ["-Z", "0"];
  const level = /^(?:gzip:)?([0-9])$/.exec(compression)?.[1];
  if (compression === "gzip") return ["-Z", "6"];
  if (!level) throw new Error(`bench: no pg_dump 15 equivalent of ${compression}`);
  return ["-Z", level];
}

/** BENCH_COMPRESS when set, else the same compression dbbackup used (read from its manifest). */
export function compressArgs(dbbackupCompression: string | undefined): string[] {
  const raw = process.env.BENCH_COMPRESS;
  if (raw !== undefined) return raw.trim() === "" ? [] : raw.trim().split(/\s+/);
  if (dbbackupCompression === undefined) throw new Error("bench: raw baseline ran before dbbackup");
  return rawArgsFor(dbbackupCompression);
}

export function surveyLevels(): string[] {
  const levels = (process.env.BENCH_SURVEY ?? "")
    .split(",")
    .map((l) => l.trim())
    .filter(Boolean);
  for (const level of levels) {
    if (level !== "default" && !/^[0-9]$/.test(level))
      throw new Error(`BENCH_SURVEY: not a gzip level: ${level}`);
  }
  return levels;
}
