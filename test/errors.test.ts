import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DbBackupError, ERROR_CODES, type ErrorCode, exitCodeOf, slackColourOf } from "../src/errors.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The codes named in the first column of README's "Errors and what to do" table. */
function codesInReadme(): Set<string> {
  const start = readme.indexOf("## Errors and what to do");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const codes = new Set<string>();
  for (const line of section.split("\n")) {
    const first = line.startsWith("| ") ? (line.split("|")[1] ?? "") : "";
    for (const m of first.matchAll(/`([a-z0-9_]+)`/g)) if (m[1]) codes.add(m[1]);
  }
  return codes;
}

describe("error codes", () => {
  it("README's error table names every code a person can meet, and no code that doesn't exist", () => {
    const documented = codesInReadme();
    const codes = Object.keys(ERROR_CODES);
    expect(codes.filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !codes.includes(c))).toEqual([]);
  });

  it("one table gives the exit code and Slack's colour", () => {
    const cases: [ErrorCode, number][] = [
      ["usage", 2],
      ["no_url", 2],
      ["port_6543", 2],
      ["disk_full", 1],
      ["verify_failed", 1],
      ["cancelled", 130],
    ];
    for (const [code, exit] of cases) expect([code, exitCodeOf(code)]).toEqual([code, exit]);
    expect(slackColourOf("bad_label")).not.toBe(slackColourOf("dump_failed"));
    expect(slackColourOf("cancelled")).toBe(slackColourOf("dump_failed"));
  });

  it("a DbBackupError carries its code, message and hint", () => {
    const e = new DbBackupError("not_found", "No backup x.", "Run `dbbackup list`.");
    expect([e.code, e.message, e.hint, e.name]).toEqual([
      "not_found",
      "No backup x.",
      "Run `dbbackup list`.",
      "DbBackupError",
    ]);
  });
});
