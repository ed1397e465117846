import { describe, expect, it } from "vitest";
import { loadSlackSettings } from "../../../commands/kit/slack-settings.js";
import { isDbBackupError } from "../../../src/errors.js";

const BASE = {
  SLACK_BOT_TOKEN: "xoxb-1-abc",
  SLACK_SIGNING_SECRET: "0123456789abcdef",
  DBBACKUP_CHANNEL: "C0123ABCD",
};

function problems(env: Record<string, string | undefined>): string {
  try {
    loadSlackSettings(env);
  } catch (error) {
    if (isDbBackupError(error)) return error.message;
    throw error;
  }
  throw new Error("expected the settings to be refused");
}

describe("loadSlackSettings", () => {
  it("reads HTTP mode with the defaults the README promises", () => {
    const s = loadSlackSettings(BASE);
    expect(s).toMatchObject({
      appToken: undefined,
      port: 3000,
      approvalEnvs: ["prod"],
      minApprovers: 1,
      approvalTtlMs: 30 * 60_000,
      shutdownGraceMs: 60_000,
      approvers: [],
    });
  });

  it("reads an empty value as not set: SLACK_APP_TOKEN= (a copied example .env) means HTTP mode", () => {
    const s = loadSlackSettings({
      ...BASE,
      SLACK_APP_TOKEN: "",
      SLACK_API_URL: "",
      DBBACKUP_APPROVAL_TTL: " ",
    });
    expect(s).toMatchObject({ appToken: undefined, apiUrl: undefined, approvalTtlMs: 30 * 60_000 });
    expect(problems({ ...BASE, SLACK_SIGNING_SECRET: "", SLACK_APP_TOKEN: "" })).toContain(
      "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is required",
    );
  });

  it("reads Socket Mode and approver lists", () => {
    const s = loadSlackSettings({
      ...BASE,
      SLACK_SIGNING_SECRET: undefined,
      SLACK_APP_TOKEN: "xapp-1-A1-2-x",
      DBBACKUP_PROD_APPROVERS: "U0AAA1, S0BBB2",
      DBBACKUP_APPROVAL_TTL: "1h",
    });
    expect(s.appToken).toBe("xapp-1-A1-2-x");
    expect(s.approvers).toEqual(["U0AAA1", "S0BBB2"]);
    expect(s.approvalTtlMs).toBe(3_600_000);
  });

  it("names every problem at once, and never echoes a token", () => {
    const text = problems({
      SLACK_BOT_TOKEN: "xoxp-user-token-secret",
      DBBACKUP_CHANNEL: "#ops",
      DBBACKUP_PROD_APPROVERS: "alice",
    });
    expect(text).toMatch(/have 4 problems/);
    expect(text).toContain("SLACK_BOT_TOKEN: must be a bot token (xoxb-…)");
    expect(text).toContain("DBBACKUP_CHANNEL: must be a channel ID");
    expect(text).toContain("DBBACKUP_PROD_APPROVERS: must be Slack user or user group IDs");
    expect(text).toContain("SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is required");
    expect(text).not.toContain("xoxp-user-token-secret");
  });

  it("requires the bot token and the channel", () => {
    const text = problems({ SLACK_SIGNING_SECRET: "0123456789abcdef" });
    expect(text).toContain("SLACK_BOT_TOKEN: is required");
    expect(text).toContain("DBBACKUP_CHANNEL: is required");
  });
});
