import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { inOrder, verifyDumped } from "../../src/backup/verify.js";

describe("inOrder: a stage is reached no earlier than the one before it", () => {
  it("moves stage 2's time up to stage 1's when stage 1 (run beside it) finished later", () => {
    const s = (stage: "dumped" | "readable", at: string) => ({ stage, ok: true, at, ms: 1, checks: [] });
    const [dumped, readable] = inOrder([
      s("dumped", "2026-11-23T20:30:05.000Z"),
      s("readable", "2026-11-23T20:30:04.000Z"),
    ]);
    expect(dumped?.at).toBe("2026-11-23T20:30:05.000Z");
    expect(readable?.at).toBe("2026-11-23T20:30:05.000Z");
    const kept = inOrder([
      s("dumped", "2026-11-23T20:30:01.000Z"),
      s("readable", "2026-11-23T20:30:04.000Z"),
    ]);
    expect(kept.map((x) => x.at)).toEqual(["2026-11-23T20:30:01.000Z", "2026-11-23T20:30:04.000Z"]);
  });
});

describe("verifyDumped: stage 1's hashes are the ones sha256sum prints", () => {
  it("hashes a small file at once and a big one in steps, both as coreutils does; a changed byte fails", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dbbackup-verify-"));
    try {
      writeFileSync(path.join(dir, "small.txt"), "a few bytes\n");
      // Over the in-one-go size, and not a whole number of 1 MiB steps.
      writeFileSync(path.join(dir, "big.bin"), randomBytes(5 * 1024 * 1024 + 12_345));
      const names = ["small.txt", "big.bin"];
      const { result, files } = await verifyDumped(dir, names);
      expect(result.ok).toBe(true);
      for (const name of names) {
        const { stdout } = await execa("sha256sum", [path.join(dir, name)]);
        expect(files.find((f) => f.name === name)?.sha256).toBe(stdout.split(" ")[0]);
      }
      const big = readFileSync(path.join(dir, "big.bin"));
      big[3 * 1024 * 1024] = (big[3 * 1024 * 1024] ?? 0) ^ 1;
      writeFileSync(path.join(dir, "big.bin"), big);
      const again = await verifyDumped(dir, names, files);
      expect(again.result.ok).toBe(false);
      expect(again.result.checks.find((c) => c.name === "big.bin")?.detail).toMatch(/differs from recorded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
