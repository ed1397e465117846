import { describe, expect, it } from "vitest";
import { loadNamedVerb } from "../../../commands/kit/named-verb.js";
import { loadVerbs } from "../../../commands/kit/registry.js";
import { type ParsedCli, parseArgv } from "../../../src/cli/argv.js";

const all = await loadVerbs();
const ENVS = ["staging", "prod", "qa"];

function outcome(argv: string[], registry: typeof all): ParsedCli | string {
  try {
    return parseArgv(argv, ENVS, registry);
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

describe("loadNamedVerb: the one verb the words name, read as among every verb", () => {
  it("an option several verbs declare has one spec (so one verb's spec reads it as any would)", () => {
    const specs = new Map<string, string>();
    for (const verb of all.verbs)
      for (const [name, spec] of Object.entries(verb.options ?? {})) {
        const seen = specs.get(name);
        if (seen !== undefined) expect(`${name}: ${JSON.stringify(spec)}`).toBe(`${name}: ${seen}`);
        else specs.set(name, JSON.stringify(spec));
      }
  });

  const cases: string[][] = [
    [
      "restore",
      "20261129_084212_staging",
      "--to-url",
      "postgresql://u@127.0.0.1/db",
      "--create-roles",
      "--json",
    ],
    ["--json", "restore", "x", "--to=qa", "--in-place", "--confirm", "db", "--jobs", "4"],
    ["restore", "x", "--to-url", "--json"],
    ["restore", "x", "--to", "qa", "--to", "prod"],
    ["restore", "x", "--to", "nowhere"],
    ["restore", "--jobs", "many", "x", "--to", "qa"],
    ["restore", "x", "--dry-run=yes", "--to", "qa"],
    ["restore"],
    ["list", "--offsite"],
    ["restore-test", "--identity", "k", "x"],
    ["keep", "x", "--reason", " "],
    ["backup", "--url", "postgresql://u@127.0.0.1/db", "bench", "--json"],
    ["--to", "restore", "restore", "x"],
    ["restore", "x", "--url", "y"],
    ["restore", "x", "--to", "qa", "--help"],
    ["restore", "x", "-h"],
    ["help"],
    ["version"],
    ["--version"],
    ["pre-upgrade"],
    ["prod", "pre-upgrade"],
    ["qa"],
    [],
    ["restore", "--", "x"],
    ["Restore", "x"],
    ["kit"],
  ];

  it.each(
    cases.map((argv) => [argv.join(" ") || "(nothing)", argv] as const),
  )("%s: alone or among all, the same reading and the same errors", async (_, argv) => {
    const one = await loadNamedVerb(argv);
    if (one) expect(outcome(argv, one)).toEqual(outcome(argv, all));
  });

  it("loads the verb alone for a plain restore, and not for help, the default verb or a stranger's option", async () => {
    expect((await loadNamedVerb(cases[0] ?? []))?.verbs.map((v) => v.name)).toEqual(["restore"]);
    for (const argv of [["--help"], ["restore", "-h"], ["pre-upgrade"], ["restore", "x", "--url", "y"], []])
      expect(await loadNamedVerb(argv)).toBeUndefined();
  });
});
