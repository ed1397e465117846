import { describe, expect, it } from "vitest";
import type { KeepResult } from "../../../../commands/keep.js";
import type { PruneItem, PruneResult } from "../../../../commands/prune.js";
import { COLOR, PLAIN } from "../../../../commands/views/terminal/render.js";
import {
  renderKeep,
  renderPrune,
  renderUnkeep,
} from "../../../../commands/views/terminal/render-retention.js";

const MB = 1_048_576;

function item(
  id: string,
  action: PruneItem["action"],
  reason: string,
  extra: Partial<PruneItem> = {},
): PruneItem {
  const env = id.split("_")[2] ?? "";
  return {
    id,
    env,
    label: null,
    action,
    rule: action === "delete" ? "expired" : "recent",
    reason,
    dir: `/b/${id}`,
    bytes: 50 * MB,
    ...extra,
  };
}

function result(overrides: Partial<PruneResult> = {}): PruneResult {
  return {
    ok: true,
    root: "/b",
    env: null,
    dryRun: false,
    rules: { keepOnDemand: 5, keepPreUpgrade: 2 },
    backups: [],
    deleted: [],
    freedBytes: 0,
    ignored: [],
    running: [],
    stopped: false,
    ...overrides,
  };
}

describe("renderPrune (plain)", () => {
  it("a real prune: what went, what stayed, what was spared at the last moment, what failed", () => {
    const text = renderPrune(
      result({
        backups: [
          item("20261106_100000_staging", "keep", "1st of the last 5 on-demand backups", { outcome: "kept" }),
          item("20261103_100000_staging", "delete", "older than the last 5 on-demand backups", {
            outcome: "spared",
            note: "pinned meanwhile by dave",
          }),
          item("20261102_100000_staging", "delete", "older than the last 5 on-demand backups", {
            outcome: "failed",
            note: "EACCES: permission denied",
          }),
          item("20261101_100000_staging", "delete", "older than the last 5 on-demand backups", {
            outcome: "deleted",
          }),
        ],
        deleted: ["20261101_100000_staging"],
        freedBytes: 50 * MB,
      }),
      PLAIN,
    );
    const lines = text.split("\n");
    expect(lines[0]).toBe("Deleted 1 of 4 backups in /b, freeing 50.0 MB.");
    expect(lines[1]).toBe("1 backup could not be deleted (FAILED below).");
    expect(text).toContain("staging: deleted 1, kept 3");
    const rows = lines.filter((l) => l.includes("_staging")).map((l) => l.split(/\s{2,}/).filter(Boolean));
    expect(rows).toEqual([
      ["kept", "20261106_100000_staging", "1st of the last 5 on-demand backups"],
      [
        "spared",
        "20261103_100000_staging",
        "older than the last 5 on-demand backups; pinned meanwhile by dave",
      ],
      [
        "FAILED",
        "20261102_100000_staging",
        "older than the last 5 on-demand backups; EACCES: permission denied",
      ],
      ["deleted", "20261101_100000_staging", "older than the last 5 on-demand backups"],
    ]);
  });

  it("says when Ctrl-C stopped it", () => {
    const text = renderPrune(
      result({
        backups: [
          item("20261101_100000_staging", "delete", "older", {
            outcome: "kept",
            note: "not reached: prune was stopped",
          }),
        ],
        stopped: true,
      }),
      PLAIN,
    );
    expect(text).toContain("Nothing deleted; all 1 backup in /b stay.");
    expect(text).toContain("Stopped before the end (Ctrl-C)");
    expect(text).toContain("older; not reached: prune was stopped");
  });

  it("a dry run of one env points at the command that deletes", () => {
    const text = renderPrune(
      result({
        env: "prod",
        dryRun: true,
        backups: [item("20261101_100000_prod", "delete", "older than the last 5 on-demand backups")],
        deleted: ["20261101_100000_prod"],
        freedBytes: 50 * MB,
      }),
      PLAIN,
    );
    expect(text.split("\n")[0]).toBe(
      "Dry run: prune would delete 1 of 1 prod backup in /b, freeing 50.0 MB. Nothing was deleted.",
    );
    expect(text.trimEnd().split("\n").at(-1)).toBe("Run `dbbackup prune prod` to delete them.");
  });

  it("colours the deletes with COLOR only", () => {
    const r = result({
      dryRun: true,
      backups: [item("20261101_100000_prod", "delete", "older")],
      deleted: ["20261101_100000_prod"],
    });
    expect(renderPrune(r, COLOR)).toContain("\u001b[33mdelete\u001b[39m");
    expect(renderPrune(r, PLAIN)).not.toContain("\u001b[");
  });
});

describe("renderKeep / renderUnkeep (plain)", () => {
  const keep: KeepResult = {
    ok: true,
    id: "20261101_100000_prod",
    dir: "/b/20261101_100000_prod",
    env: "prod",
    label: null,
    pin: { reason: "audit", by: "bob", at: "2026-11-23T00:00:00.000Z" },
    previous: { reason: "before tenant split", by: "alice", at: "2026-11-20T00:00:00.000Z" },
  };

  it("keep says what it pinned and what it replaced", () => {
    expect(renderKeep(keep, PLAIN).split("\n")).toEqual([
      '✔ Pinned 20261101_100000_prod: "audit" (by bob)',
      "  prune never deletes it; `dbbackup unkeep 20261101_100000_prod` undoes this.",
      '  It was pinned already, by alice: "before tenant split"; replaced.',
      "",
    ]);
  });

  it("unkeep says what pin it removed, or that there was none", () => {
    const { pin: _pin, ...rest } = keep;
    expect(renderUnkeep(rest, PLAIN)).toBe(
      '✔ Unpinned 20261101_100000_prod (was pinned by alice: "before tenant split")\n  prune\'s usual rules apply to it again.\n',
    );
    const { previous: _previous, ...none } = rest;
    expect(renderUnkeep(none, PLAIN)).toBe("20261101_100000_prod was not pinned; nothing changed.\n");
  });
});
