import { describe, expect, it } from "vitest";
import { compressionArgs, defaultCompression } from "../../src/backup/compression.js";
import { DbBackupError } from "../../src/errors.js";

describe("defaultCompression", () => {
  it("is gzip:4 on pg_dump 15 and older, zstd on 16 and newer", () => {
    expect(defaultCompression(14)).toBe("gzip:4");
    expect(defaultCompression(15)).toBe("gzip:4");
    expect(defaultCompression(16)).toBe("zstd");
    expect(defaultCompression(17)).toBe("zstd");
  });

  it("gives arguments the same pg_dump understands", () => {
    for (const major of [14, 15, 16, 17]) {
      expect(() => compressionArgs(defaultCompression(major), major)).not.toThrow();
    }
    expect(compressionArgs(defaultCompression(15), 15)).toEqual(["-Z", "4"]);
    expect(compressionArgs(defaultCompression(17), 17)).toEqual(["--compress=zstd"]);
  });
});

describe("compressionArgs on pg_dump 15 and older (gzip levels only)", () => {
  it.each([
    ["gzip:1", ["-Z", "1"]],
    ["gzip:9", ["-Z", "9"]],
    ["gzip", ["-Z", "6"]],
    ["none", ["-Z", "0"]],
    ["0", ["-Z", "0"]],
    ["5", ["-Z", "5"]],
  ])("%s → %j", (spec, args) => {
    expect(compressionArgs(spec, 15)).toEqual(args);
    expect(compressionArgs(spec, 14)).toEqual(args);
  });

  it.each(["zstd", "zstd:3", "lz4", "lz4:5"])("refuses %s, naming pg_dump 16 and the fix", (spec) => {
    let error: unknown;
    try {
      compressionArgs(spec, 15);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbBackupError);
    const e = error as DbBackupError;
    expect(e.code).toBe("compress_unsupported");
    expect(e.message).toContain(`DBBACKUP_COMPRESS=${spec}`);
    expect(e.message).toContain("pg_dump 16");
    expect(e.message).toContain("15");
    expect(e.hint).toContain("gzip:1");
  });
});

describe("compressionArgs on pg_dump 16 and newer (method[:level])", () => {
  it.each([
    ["zstd", ["--compress=zstd"]],
    ["zstd:3", ["--compress=zstd:3"]],
    ["lz4:5", ["--compress=lz4:5"]],
    ["gzip:1", ["--compress=gzip:1"]],
    ["none", ["--compress=none"]],
    ["6", ["--compress=6"]],
  ])("%s → %j", (spec, args) => {
    expect(compressionArgs(spec, 16)).toEqual(args);
    expect(compressionArgs(spec, 17)).toEqual(args);
  });
});
