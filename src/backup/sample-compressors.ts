/**
 * What a compression sample is compressed with, in-process and off the event loop: zlib's deflate
 * for pg_dump's gzip levels, and zstd where this Node has it (22.15 and newer: the Docker image's
 * 24 does, Node 20 doesn't), for pg_dump 16's zstd levels. lz4 has no in-process twin, so it is
 * never measured.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";

export type Family = "gzip" | "zstd";

type ZstdCompress = (
  input: Buffer,
  options: { params: Record<number, number> },
  callback: (error: Error | null, output: Buffer) => void,
) => void;

/** Node's zlib.zstdCompress and its level parameter, when this Node has them (@types/node 20 doesn't know them). */
function nodeZstd(): { compress: ZstdCompress; levelParam: number } | undefined {
  const compress = (zlib as unknown as { zstdCompress?: ZstdCompress }).zstdCompress;
  const levelParam = (zlib.constants as unknown as Record<string, number | undefined>)
    .ZSTD_c_compressionLevel;
  return typeof compress === "function" && typeof levelParam === "number"
    ? { compress, levelParam }
    : undefined;
}

/** Whether `family` can be measured in this process. */
export function canMeasure(family: Family): boolean {
  return family === "gzip" || nodeZstd() !== undefined;
}

const deflate = promisify(zlib.deflate);

/** `text` compressed at `level` of `family`; its size is what counts. */
export async function compressSample(family: Family, text: Buffer, level: number): Promise<Buffer> {
  if (family === "gzip") return deflate(text, { level });
  const zstd = nodeZstd();
  if (!zstd) throw new Error(`this Node (${process.version}) has no zstd`);
  return promisify(zstd.compress)(text, { params: { [zstd.levelParam]: level } });
}
