import { describe, expect, it } from "vitest";
import type { SlackMessage } from "../../../../commands/views/slack/blocks.js";
import {
  BACKUP_NOW_ACTION,
  DRILL_NOW_ACTION,
  noticeView,
} from "../../../../commands/views/slack/guardrail-views.js";
import { when } from "../../../../commands/views/slack/window-views.js";
import type { Notice } from "../../../../src/guardrails/notices.js";
import type { MaintenanceWindow } from "../../../../src/state/windows.js";

const RULES = { approvalEnvs: ["prod"] };
const window: MaintenanceWindow = {
  id: "w00bf5c",
  env: "prod",
  startsAt: "2026-12-01T02:00:00.000Z",
  endsAt: "2026-12-01T04:00:00.000Z",
  note: "15.8 <patch>",
  declaredBy: "U0ALICE01",
  declaredAt: "2026-11-23T10:00:00.000Z",
  cancelled: null,
  nagsSent: [],
  covered: null,
  late: null,
  diffPostedAt: null,
};
const backup = {
  id: "20261120_100000_prod",
  label: null,
  finishedAt: "2026-11-20T10:01:00.000Z",
  requestedBy: "U0BOB0001",
  version: "15.6",
};

/** Every text a reader sees, attachments included. */
function shown(m: SlackMessage): string {
  return JSON.stringify([m.blocks, m.attachments ?? []]);
}
function buttons(m: SlackMessage): { action_id: string; value: string; text: { text: string } }[] {
  const blocks = [...m.blocks, ...(m.attachments ?? []).flatMap((a) => a.blocks)];
  return blocks.flatMap((b) =>
    b.type === "actions"
      ? (b.elements as unknown as { action_id: string; value: string; text: { text: string } }[])
      : [],
  );
}

describe("guardrail messages", () => {
  it("a nag names the window and its urgency, and its button requests a prod backup (approval) with only env and label", () => {
    const m = noticeView({ kind: "nag", window, level: "24h", msLeft: 23 * 3_600_000 }, RULES);
    expect(m.text).toBe("prod upgrade in 23h: no pre-upgrade backup yet");
    expect(shown(m)).toContain("15.8 &lt;patch&gt;");
    expect(buttons(m)).toEqual([
      expect.objectContaining({
        action_id: BACKUP_NOW_ACTION,
        value: JSON.stringify({ env: "prod", label: "pre-upgrade" }),
        text: expect.objectContaining({ text: "Request a prod pre-upgrade backup" }),
      }),
    ]);
    const staging = noticeView(
      { kind: "nag", window: { ...window, env: "staging" }, level: "start", msLeft: 0 },
      RULES,
    );
    expect(buttons(staging)[0]?.text.text).toBe("Start a staging pre-upgrade backup");
    expect(shown(staging)).toMatch(/starts now and there is no pre-upgrade backup/);
    // Due at the 2h step with 90 minutes left: the message says how long is really left.
    expect(noticeView({ kind: "nag", window, level: "2h", msLeft: 90 * 60_000 }, RULES).text).toBe(
      "prod upgrade in 1h30m: no pre-upgrade backup yet",
    );
  });

  it("a version change without a pre-upgrade backup is red and loud, with a backup button", () => {
    const m = noticeView(
      { kind: "version-changed", env: "prod", from: "15.6", to: "15.8", lastBackup: backup },
      RULES,
    );
    expect(m.text).toBe("prod went from 15.6 to 15.8 without a pre-upgrade backup");
    expect(m.attachments?.[0]?.color).toBe("#d1242f");
    expect(buttons(m)[0]?.action_id).toBe(BACKUP_NOW_ACTION);
  });

  it("a drill reminder names the last drill (who, when, result) and carries a run-it-now button", () => {
    const n: Notice = {
      kind: "drill-due",
      env: "staging",
      reason: "quarterly",
      quarter: "2026 Q4",
      maxAgeDays: 90,
      lastDrill: {
        at: "2026-08-01T10:00:00.000Z",
        by: "U0BOB0001",
        backupId: "20260801_090000_staging",
        env: "staging",
        ok: false,
        ms: 9000,
        serverMajor: 15,
        summary: "3 tables differ",
      },
    };
    const m = noticeView(n, RULES);
    expect(shown(m)).toMatch(/2026 Q4: time for this quarter's staging restore drill/);
    expect(shown(m)).toMatch(/<@U0BOB0001>.*20260801_090000_staging.*failed.*3 tables differ/);
    expect(buttons(m)).toEqual([
      expect.objectContaining({ action_id: DRILL_NOW_ACTION, value: '{"env":"staging"}' }),
    ]);
  });

  it("retention lists each deleted backup on its own line", () => {
    const m = noticeView(
      {
        kind: "pruned",
        trigger: "schedule",
        deleted: [
          {
            id: "20261101_100000_prod",
            env: "prod",
            bytes: 1_048_576,
            reason: "older than the last 5 on-demand backups",
          },
          {
            id: "20261102_100000_prod",
            env: "prod",
            bytes: 2_097_152,
            reason: "older than the last 5 on-demand backups",
          },
        ],
        freedBytes: 3_145_728,
      },
      RULES,
    );
    expect(m.text).toBe("Retention deleted 2 backup(s), 3.0 MB");
    expect(shown(m).match(/• `2026110[12]_100000_prod`/g)).toHaveLength(2);
  });

  it("shows times in each reader's zone, with UTC as the fallback", () => {
    expect(when("2026-12-01T02:00:00.000Z")).toBe(
      "<!date^1796090400^{date_short_pretty} {time}|2026-12-01 02:00 UTC>",
    );
  });
});
