import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { chooseCompression, SAMPLE_ALLOWANCE } from "../../src/backup/compression-choice.js";
import { measureSample } from "../../src/backup/compression-sample.js";
import { canMeasure, compressSample } from "../../src/backup/sample-compressors.js";

/** Rows as COPY prints them, of the kind that compress poorly: ids, hex hashes, timestamps. */
function hashRows(count: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const h = createHash("sha256").update(String(i)).digest("hex");
    lines.push(`${i}\t${h.slice(0, 32)}\t${h}\t2026-01-01 00:00:${String(i % 60).padStart(2, "0")}+00`);
  }
  return Buffer.from(lines.join("\n"));
}

type ZstdDecompress = (input: Buffer) => Buffer;
const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync?: ZstdDecompress }).zstdDecompressSync;

// Node 22.15+ (the Docker image's 24; CI runs this file on it) has zstd; Node 20 doesn't. Each Node
// is held to what it can do: one of the two tests below runs, and it can fail.
describe(`a compression sample's compressors on this Node (${process.version})`, () => {
  const sample = { text: hashRows(4_000), tables: 1, dataBytes: 64 * 1024 * 1024 };

  it.runIf(zstdDecompressSync !== undefined)(
    "measures pg_dump 16+'s zstd levels against gzip:6's size, and chooses one pg_dump 17 takes",
    async () => {
      expect(canMeasure("zstd")).toBe(true);
      const packed = await compressSample("zstd", sample.text, 3);
      expect(zstdDecompressSync?.(packed).equals(sample.text)).toBe(true);
      const figures = await measureSample(sample, performance.now(), "zstd");
      const reference = figures.candidates.find((c) => c.spec === "gzip:6");
      const zstd = figures.candidates.filter((c) => c.spec.startsWith("zstd:"));
      expect(reference?.bytes).toBeGreaterThan(0);
      expect(zstd.length).toBeGreaterThan(0);
      const choice = chooseCompression({ figures }, 17, undefined);
      expect(choice.chosenBy).toBe("sample");
      const chosen = figures.candidates.find((c) => c.spec === choice.spec);
      expect(chosen?.bytes).toBeLessThanOrEqual((reference?.bytes ?? 0) * SAMPLE_ALLOWANCE);
    },
  );

  it.runIf(zstdDecompressSync === undefined)(
    "has no zstd to measure, and says which Node lacks it",
    async () => {
      expect(canMeasure("zstd")).toBe(false);
      await expect(compressSample("zstd", sample.text, 3)).rejects.toThrow(
        `this Node (${process.version}) has no zstd`,
      );
    },
  );

  it("measures gzip levels from 1 up until one is within the allowance of gzip:6's size", async () => {
    const figures = await measureSample(sample, performance.now(), "gzip");
    const reference = figures.candidates.find((c) => c.spec === "gzip:6");
    const last = figures.candidates.at(-1);
    expect(last?.spec).toMatch(/^gzip:[1-5]$/);
    expect(last?.bytes).toBeLessThanOrEqual((reference?.bytes ?? 0) * SAMPLE_ALLOWANCE);
  });
});
