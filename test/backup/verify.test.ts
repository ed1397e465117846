import { describe, expect, it } from "vitest";
import { inOrder } from "../../src/backup/verify.js";

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
