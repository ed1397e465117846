import { describe, expect, it } from "vitest";
import { parseLength, parseUpgradeWords, zonedInstant } from "../../src/guardrails/window-time.js";

const ENVS = new Set(["staging", "prod"]);
const parse = (text: string) => parseUpgradeWords(text.split(" "), ENVS);

describe("reading an upgrade window declaration", () => {
  it("reads env, start in UTC, optional length and note", () => {
    expect(parse("prod 2026-12-01 02:00 UTC 2h 15.8 patch upgrade")).toEqual({
      action: "declare",
      env: "prod",
      startsAt: "2026-12-01T02:00:00.000Z",
      lengthMs: 2 * 3_600_000,
      note: "15.8 patch upgrade",
    });
    expect(parse("staging 2026-12-01 23:30 Z")).toMatchObject({ lengthMs: null, note: null });
  });

  it("converts offsets and zone names, daylight saving included", () => {
    expect(zonedInstant("2026-12-01", "02:00", "+02:00").toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(zonedInstant("2026-12-01", "02:00", "-0530").toISOString()).toBe("2026-12-01T07:30:00.000Z");
    // Berlin is UTC+1 in winter and UTC+2 in summer.
    expect(zonedInstant("2026-12-01", "02:00", "Europe/Berlin").toISOString()).toBe(
      "2026-12-01T01:00:00.000Z",
    );
    expect(zonedInstant("2026-07-01", "02:00", "Europe/Berlin").toISOString()).toBe(
      "2026-07-01T00:00:00.000Z",
    );
    expect(zonedInstant("2026-11-01", "09:00", "America/New_York").toISOString()).toBe(
      "2026-11-01T14:00:00.000Z",
    );
  });

  it("refuses a time the clocks skip, naming the zone", () => {
    expect(() => zonedInstant("2026-03-29", "02:30", "Europe/Berlin")).toThrow(
      /2026-03-29 02:30 doesn't exist in Europe\/Berlin/,
    );
  });

  it("says exactly what is wrong with bad input", () => {
    expect(() => parse("prod 2026-12-01 02:00")).toThrow(/Say which time zone 2026-12-01 02:00 is in/);
    expect(() => parse("prod tomorrow 02:00 UTC")).toThrow(
      /"tomorrow" is not a date; write it as YYYY-MM-DD/,
    );
    expect(() => parse("prod 2026-02-30 02:00 UTC")).toThrow(/2026-02-30 is not a day of the calendar/);
    expect(() => parse("prod 2026-12-01 25:00 UTC")).toThrow(/25:00 is not a time of day/);
    expect(() => parse("prod 2026-12-01 2am UTC")).toThrow(/"2am" is not a time/);
    expect(() => parse("prod 2026-12-01 02:00 Mars/Olympus")).toThrow(
      /"Mars\/Olympus" is not a time zone I know/,
    );
    expect(() => parse("prod 2026-12-01 02:00 ../../etc")).toThrow(/is not a time zone I know/);
    expect(() => parse("qa 2026-12-01 02:00 UTC")).toThrow(/Unknown environment "qa"; known: prod, staging/);
    expect(() => parse("prod 2026-12-01 02:00 UTC 30h")).toThrow(/at most 24h/);
    expect(() => parse(`prod 2026-12-01 02:00 UTC ${"x".repeat(201)}`)).toThrow(/note is too long/);
  });

  it("reads list and cancel, and refuses a cancel without a window id", () => {
    expect(parse("list")).toEqual({ action: "list" });
    expect(parse("cancel w3f9a10")).toEqual({ action: "cancel", id: "w3f9a10" });
    expect(() => parse("cancel ../../etc")).toThrow(/"..\/..\/etc" is not one/);
    expect(() => parseUpgradeWords(["cancel"], ENVS)).toThrow(/takes one window id/);
  });

  it("reads window lengths", () => {
    expect(parseLength("2h")).toBe(7_200_000);
    expect(parseLength("90m")).toBe(5_400_000);
    expect(parseLength("1h30m")).toBe(5_400_000);
    expect(parseLength("0m")).toBeUndefined();
    expect(parseLength("soon")).toBeUndefined();
  });
});
