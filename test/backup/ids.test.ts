import { describe, expect, it } from "vitest";
import { backupId, checkLabel, isBackupId, parseBackupId, timestampPart } from "../../src/backup/ids.js";
import { DbBackupError } from "../../src/errors.js";

describe("checkLabel", () => {
  it.each([
    "pre-upgrade",
    "migration-42",
    "tenant.split",
    "a",
    "0day",
    "auth_change",
    "x".repeat(40),
  ])("accepts %j", (label) => {
    expect(checkLabel(label)).toBe(label);
  });

  it.each([
    ["empty", ""],
    ["41 characters", "x".repeat(41)],
    ["upper case", "Pre-upgrade"],
    ["a leading dash (looks like an option)", "-rf"],
    ["a leading dot (hidden folder)", ".hidden"],
    ["a leading underscore", "_x"],
    ["a space", "pre upgrade"],
    ["a slash", "a/b"],
    ["a path escape", "../etc"],
    ["a double dot inside", "a..b"],
    ["a trailing newline", "pre\n"],
    ["a shell character", "x;rm"],
    ["non-ASCII", "café"],
  ])("refuses %s", (_why, label) => {
    let error: unknown;
    try {
      checkLabel(label);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DbBackupError);
    const e = error as DbBackupError;
    expect(e.code).toBe("bad_label");
    expect(e.message).toContain("Invalid label");
    expect(e.message).toContain("a-z, 0-9");
    expect(e.hint).toContain("pre-upgrade");
  });

  it("shortens a very long label in the message", () => {
    expect(() => checkLabel("y".repeat(500))).toThrow(/"y{57}\.\.\."/);
  });
});

describe("backup ids", () => {
  it("stamps ids in UTC whatever the local offset of the Date", () => {
    const date = new Date("2026-11-23T23:30:05-05:00");
    expect(timestampPart(date)).toBe("20261124_043005");
    expect(backupId(date, "prod", "pre-upgrade")).toBe("20261124_043005_prod_pre-upgrade");
  });

  it("pads every part", () => {
    expect(timestampPart(new Date(Date.UTC(2027, 0, 2, 3, 4, 5)))).toBe("20270102_030405");
  });

  it("leaves the label part out when there is none", () => {
    expect(backupId(new Date(Date.UTC(2026, 10, 23, 20, 30, 0)), "staging")).toBe("20261123_203000_staging");
  });

  it.each([
    ["staging", undefined],
    ["prod", "pre-upgrade"],
    ["eu-prod", "tenant.split_2"],
    ["adhoc", "manual"],
  ])("round-trips env %s label %s", (env, label) => {
    const id = backupId(new Date(Date.UTC(2026, 10, 23, 20, 30, 0)), env, label);
    expect(parseBackupId(id)).toEqual(
      label === undefined
        ? { timestamp: "20261123_203000", env }
        : { timestamp: "20261123_203000", env, label },
    );
    expect(isBackupId(id)).toBe(true);
  });

  it.each([
    ".inprogress-20261123_203000_staging",
    ".logs",
    "20261123_203000",
    "20261123-203000_staging",
    "20261123_203000_Staging",
    "20261123_203000_staging_",
    "20261123_203000_staging_a b",
    "notes",
  ])("does not take %j for a backup id", (name) => {
    expect(isBackupId(name)).toBe(false);
    expect(parseBackupId(name)).toBeUndefined();
  });
});
