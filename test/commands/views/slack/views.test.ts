import { describe, expect, it } from "vitest";
import { backupResult } from "../../../../commands/backup.js";
import { backupDoneView, backupFailedView } from "../../../../commands/views/slack/backup-views.js";
import { escapeMrkdwn } from "../../../../commands/views/slack/blocks.js";
import { helpView, listView, statusView, usageErrorView } from "../../../../commands/views/slack/views.js";
import { diffRows } from "../../../../src/backup/row-changes.js";
import { slashWords } from "../../../../src/slack/slash-request.js";
import { makeManifest } from "../../../helpers/manifest.js";

describe("Block Kit views", () => {
  it("always carry a plain-text fallback and stay within Slack's limits", () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      id: `20261123_2030${String(i).padStart(2, "0")}_env${i}`,
      env: `env${i}`,
      label: null,
      dir: "/x",
      requestedBy: "U1",
      finishedAt: "2026-11-23T20:30:00.000Z",
      totalBytes: 1024,
      serverVersion: "PostgreSQL 15.8",
      stage: "readable" as const,
    }));
    const view = listView(
      { ok: true, root: "/x", env: null, backups: many, unreadable: [], running: [] },
      new Date(),
    );
    expect(view.text.length).toBeGreaterThan(0);
    expect(view.blocks.length).toBeLessThanOrEqual(50);
    for (const block of view.blocks) {
      if (block.type === "section" && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
    expect(helpView().text).toContain("/dbbackup");
  });

  it("/dbbackup list shows each backup's last restore test: passed, or FAILED", () => {
    const row = (id: string, restoreTest?: { ok: boolean; at: string }) => ({
      id,
      env: "prod",
      label: null,
      dir: `/x/${id}`,
      requestedBy: "U0ALICE01",
      finishedAt: "2026-11-20T10:00:00.000Z",
      totalBytes: 1024,
      serverVersion: "PostgreSQL 15.8",
      stage: "readable" as const,
      ...(restoreTest ? { restoreTest: { ...restoreTest, by: "U0BOB0001", ms: 1 } } : {}),
    });
    const view = listView(
      {
        ok: true,
        root: "/x",
        env: null,
        unreadable: [],
        running: [],
        backups: [
          row("20261122_100000_prod", { ok: true, at: "2026-11-23T20:30:00.000Z" }),
          row("20261121_100000_prod", { ok: false, at: "2026-11-21T22:30:00.000Z" }),
          row("20261120_100000_prod"),
        ],
      },
      new Date("2026-11-23T22:30:00.000Z"),
    );
    const text = JSON.stringify(view.blocks);
    expect(text).toContain(
      "`20261122_100000_prod` 1.0 KB · 4d ago · stage 2 readable · restore test passed 2h ago",
    );
    expect(text).toContain(":x: restore test FAILED 2d ago");
    expect(text).toMatch(/`20261120_100000_prod` [^\\]*stage 2 readable(\\n|")/);
  });

  it("escapes what the user typed, so it can't ping @channel or fake a link", () => {
    expect(escapeMrkdwn("<!channel> & <http://x|y>")).toBe("&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
    const view = usageErrorView('Invalid label "<!channel>"', "Use pre-upgrade.");
    expect(JSON.stringify(view.blocks)).not.toContain("<!channel>");
    const failed = backupFailedView("staging", "U0123ABCD", "disk <full>", "free space");
    // A failure turns red: its blocks sit in an attachment with a red bar, and the old blocks are cleared.
    expect(failed.blocks).toEqual([]);
    expect(failed.attachments?.[0]?.color).toBe("#d1242f");
    expect(JSON.stringify(failed.attachments)).toContain("<@U0123ABCD>");
    expect(JSON.stringify(failed.attachments)).toContain("disk &lt;full&gt;");
  });
});

describe("slashWords", () => {
  it("splits on any whitespace and refuses 5,000 characters or control characters", () => {
    expect(slashWords("  prod   pre-upgrade ")).toEqual(["prod", "pre-upgrade"]);
    expect(() => slashWords("x".repeat(5000))).toThrow(/too long/);
    expect(() => slashWords("staging \u0007bell")).toThrow(/control characters/);
  });

  it("status names the open upgrade windows and whether a pre-upgrade backup covers each", () => {
    const view = statusView({
      running: [],
      pending: [],
      last: [],
      windows: [
        { id: "w00bf5c", env: "prod", startsAt: "2026-12-01T02:00:00.000Z", covered: null },
        {
          id: "w1a2b3c",
          env: "staging",
          startsAt: "2026-11-30T02:00:00.000Z",
          covered: { backupId: "20261129_220000_staging_pre-upgrade" },
        },
      ],
      now: new Date("2026-11-23T10:00:00Z"),
    });
    const text = JSON.stringify(view.blocks);
    expect(text).toContain("*Upgrade windows*");
    expect(text).toContain("`w00bf5c` prod 2026-12-01 02:00 UTC: :warning: no pre-upgrade backup yet");
    expect(text).toContain(
      "`w1a2b3c` staging 2026-11-30 02:00 UTC: covered by `20261129_220000_staging_pre-upgrade`",
    );
    expect(
      JSON.stringify(statusView({ running: [], pending: [], last: [], now: new Date() }).blocks),
    ).not.toContain("Upgrade windows");
  });
});

describe("backupDoneView: rows since the last backup", () => {
  const base = backupResult(makeManifest("20261123_203000_prod_pre-upgrade"), "/b/x", false, "/");
  const rowChanges = {
    since: "20261122_203000_prod",
    ...diffRows(
      [
        { schema: "public", name: "orders", partitioned: false, rows: 1000, exact: true },
        { schema: "public", name: "audit", partitioned: false, rows: 50, exact: true },
      ],
      [{ schema: "public", name: "orders", partitioned: false, rows: 400, exact: true }],
      10,
    ),
  };

  it("flags, in the channel, a table that lost more than the setting's share and one that is gone", () => {
    const text = JSON.stringify(backupDoneView({ ...base, rowChanges }).blocks);
    expect(text).toContain(":rotating_light: Since `20261122_203000_prod` (more than 10% lost)");
    expect(text).toContain(
      "public.orders lost 60% of its rows (1,000 → 400); public.audit is gone (it had 50 rows)",
    );
  });

  it("says quietly what changed when nothing is flagged", () => {
    const quiet = { since: "20261122_203000_prod", ...diffRows([], [], 10) };
    expect(JSON.stringify(backupDoneView({ ...base, rowChanges: quiet }).blocks)).toContain(
      "Rows since `20261122_203000_prod`: no table's row count changed",
    );
  });
});
