import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, workdir } from "../helpers/cli.js";

describe("dbbackup demo", () => {
  it("runs the whole pipeline with no .env and no server, then removes everything", async () => {
    const empty = workdir(); // a .env with nothing in it: the demo must not need one
    try {
      const r = await runCli(["demo", "--json"], { cwd: empty.dir, timeoutMs: 60_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      const body = JSON.parse(r.stdout) as {
        ok: boolean;
        backup: { stage: string; dir: string; tocCounts: { policies: number } };
        restore: { ok: boolean; summary: string };
      };
      expect(body.ok).toBe(true);
      expect(body.backup.stage).toBe("readable");
      expect(body.backup.tocCounts.policies).toBe(11);
      expect(body.restore.ok).toBe(true);
      expect(body.restore.summary).toMatch(/^\d+ matched, 0 expected differences, 0 failed$/);
      // Each stage is told as it happens, on stderr.
      expect(r.stderr).toMatch(/started a throwaway Postgres 15/);
      expect(r.stderr).toMatch(/stage readable: passed/);
      expect(r.stderr).toMatch(/restore done in/);
      expect(r.stderr).toMatch(/stopped the throwaway Postgres and removed its data/);
      // Its backups folder lived in a temp dir that is gone, and nothing landed in the cwd.
      expect(existsSync(path.dirname(path.dirname(body.backup.dir)))).toBe(false);
      expect(existsSync(path.join(empty.dir, "backups"))).toBe(false);
    } finally {
      empty.remove();
    }
  });
});
