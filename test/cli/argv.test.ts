import { describe, expect, it } from "vitest";
import { loadVerbs } from "../../commands/kit/registry.js";
import { type ParsedCli, parseArgv as parseWith } from "../../src/cli/argv.js";
import { DbBackupError } from "../../src/errors.js";

const NONE: string[] = [];
const registry = await loadVerbs();
const parseArgv = (argv: string[], envs: string[]) => parseWith(argv, envs, registry);

function usageError(argv: string[], envs: string[] = NONE): DbBackupError {
  let parsed: ParsedCli | undefined;
  try {
    parsed = parseArgv(argv, envs);
  } catch (error) {
    if (error instanceof DbBackupError) return error;
    throw error;
  }
  throw new Error(`parseArgv accepted ${JSON.stringify(argv)}: ${JSON.stringify(parsed)}`);
}

describe("parseArgv: backups, as the runbook's command line meant them", () => {
  it("`pre-upgrade` is a label for staging (the default env)", () => {
    expect(parseArgv(["pre-upgrade"], ["staging", "prod"])).toEqual({
      command: { verb: "backup", args: { restoreHint: true, label: "pre-upgrade" } },
      json: false,
    });
  });

  it("no words: a staging backup without a label", () => {
    expect(parseArgv([], NONE)).toEqual({
      command: { verb: "backup", args: { restoreHint: true } },
      json: false,
    });
  });

  it("`prod pre-upgrade` is prod with a label, even when prod is not configured (so the URL advice comes later)", () => {
    expect(parseArgv(["prod", "pre-upgrade"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, env: "prod", label: "pre-upgrade" },
    });
  });

  it("`prod` alone is the env, `staging` too", () => {
    expect(parseArgv(["prod"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, env: "prod" },
    });
    expect(parseArgv(["staging"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, env: "staging" },
    });
  });

  it("a configured custom env is an env; unconfigured, the same word is a label", () => {
    expect(parseArgv(["eu-prod", "pre-upgrade"], ["eu-prod"]).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, env: "eu-prod", label: "pre-upgrade" },
    });
    expect(parseArgv(["eu-prod"], ["eu-prod"]).command).toMatchObject({ args: { env: "eu-prod" } });
    expect(parseArgv(["eu-prod"], NONE).command).toMatchObject({ args: { label: "eu-prod" } });
  });

  it("the explicit `backup` verb takes the same words", () => {
    expect(parseArgv(["backup", "prod", "x"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, env: "prod", label: "x" },
    });
  });

  it("refuses an unknown env with two words, listing the known ones and the variable to set", () => {
    const error = usageError(["eu-prod", "pre-upgrade"], ["qa"]);
    expect(error.code).toBe("usage");
    expect(error.message).toBe('Unknown environment "eu-prod"; known: prod, qa, staging.');
    expect(error.hint).toContain("DATABASE_URL_EU_PROD");
    expect(error.hint).toContain("--url");
  });

  it("refuses too many words", () => {
    const error = usageError(["prod", "pre-upgrade", "now"]);
    expect(error.code).toBe("usage");
    expect(error.message).toContain("Too many words");
    expect(error.message).toContain('"now"');
    expect(error.hint).toContain("dbbackup prod pre-upgrade");
  });

  it("--url, as two words or with =, for a one-off backup", () => {
    const url = "postgresql://u:p@db.x.supabase.co:5432/postgres?sslmode=require";
    expect(parseArgv(["--url", url, "manual"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, label: "manual", url },
    });
    expect(parseArgv([`--url=${url}`], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, url },
    });
  });

  it("refuses --url with no value, or given twice", () => {
    expect(usageError(["--url"]).message).toContain("--url needs a value");
    expect(usageError(["--url="]).message).toContain("--url needs a value");
    expect(usageError(["--url", "postgresql://a@h/db", "--url=postgresql://b@h/db"]).message).toContain(
      "twice",
    );
  });

  it("--no-restore-hint turns the hint off, wherever it stands", () => {
    expect(parseArgv(["--no-restore-hint", "pre-upgrade"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: false, label: "pre-upgrade" },
    });
    expect(parseArgv(["prod", "x", "--no-restore-hint"], NONE).command).toMatchObject({
      args: { restoreHint: false },
    });
  });

  it("--json anywhere", () => {
    expect(parseArgv(["--json", "prod", "x"], NONE).json).toBe(true);
    expect(parseArgv(["prod", "--json", "x"], NONE)).toEqual({
      command: { verb: "backup", args: { restoreHint: true, env: "prod", label: "x" } },
      json: true,
    });
    expect(parseArgv(["list", "--json"], NONE).json).toBe(true);
    expect(parseArgv(["prod", "x"], NONE).json).toBe(false);
  });

  it("refuses an unknown option, naming it", () => {
    const error = usageError(["prod", "--force"]);
    expect(error.code).toBe("usage");
    expect(error.message).toBe('Unknown option "--force".');
    expect(error.hint).toContain("dbbackup help");
  });

  it("after --, a word starting with - is a positional (the label check refuses it later)", () => {
    expect(parseArgv(["--", "-x"], NONE).command).toEqual({
      verb: "backup",
      args: { restoreHint: true, label: "-x" },
    });
  });
});

describe("parseArgv: list, verify, help", () => {
  it("list, list ENV, list ENV --json", () => {
    expect(parseArgv(["list"], NONE)).toEqual({ command: { verb: "list", args: {} }, json: false });
    expect(parseArgv(["list", "prod", "--json"], NONE)).toEqual({
      command: { verb: "list", args: { env: "prod" } },
      json: true,
    });
    expect(parseArgv(["--json", "list", "eu-prod"], ["eu-prod"])).toEqual({
      command: { verb: "list", args: { env: "eu-prod" } },
      json: true,
    });
  });

  it("refuses list of an unknown env and list with two envs", () => {
    expect(usageError(["list", "qa"]).message).toContain('Unknown environment "qa"');
    expect(usageError(["list", "prod", "staging"]).message).toContain("at most one environment");
  });

  it("verify takes exactly one id or path", () => {
    expect(parseArgv(["verify", "20261123_203000_staging_pre-upgrade", "--json"], NONE)).toEqual({
      command: { verb: "verify", args: { ref: "20261123_203000_staging_pre-upgrade" } },
      json: true,
    });
    expect(parseArgv(["verify", "./backups/x"], NONE).command).toEqual({
      verb: "verify",
      args: { ref: "./backups/x" },
    });
    expect(usageError(["verify"]).message).toContain("verify takes one backup id or folder");
    expect(usageError(["verify", "a", "b"]).message).toContain("verify takes one backup id or folder");
  });

  it("help, --help and -h, whatever else is there", () => {
    for (const argv of [["help"], ["--help"], ["-h"], ["prod", "x", "--help"]]) {
      expect(parseArgv(argv, NONE).command).toEqual({ verb: "help" });
    }
  });

  it("--version", () => {
    expect(parseArgv(["--version"], NONE).command).toEqual({ verb: "version" });
  });
});

describe("parseArgv: prune, keep, unkeep", () => {
  const ID = "20261123_203000_staging_pre-upgrade";

  it("prune [ENV] [--dry-run] [--json]", () => {
    expect(parseArgv(["prune"], NONE)).toEqual({
      command: { verb: "prune", args: { dryRun: false } },
      json: false,
    });
    expect(parseArgv(["prune", "prod", "--dry-run", "--json"], NONE)).toEqual({
      command: { verb: "prune", args: { env: "prod", dryRun: true } },
      json: true,
    });
    expect(parseArgv(["--dry-run", "prune", "eu-prod"], ["eu-prod"]).command).toEqual({
      verb: "prune",
      args: { env: "eu-prod", dryRun: true },
    });
    // --url backups are filed as adhoc, so adhoc can be pruned by name.
    expect(parseArgv(["prune", "adhoc"], NONE).command).toEqual({
      verb: "prune",
      args: { env: "adhoc", dryRun: false },
    });
  });

  it("refuses prune of an unknown env, of two envs, or with --url", () => {
    expect(usageError(["prune", "qa"]).message).toContain('Unknown environment "qa"');
    expect(usageError(["prune", "prod", "staging"]).message).toContain("prune takes at most one environment");
    expect(usageError(["prune", "--url", "postgresql://h:5432/d"]).message).toContain("prune takes no --url");
  });

  it("--dry-run only with prune: never a backup or a list that silently ignores it", () => {
    for (const argv of [
      ["--dry-run"],
      ["pre-upgrade", "--dry-run"],
      ["list", "--dry-run"],
      ["keep", ID, "--dry-run"],
    ]) {
      expect(usageError(argv).message).toContain("--dry-run goes with prune");
    }
  });

  it("keep <ID> [--reason TEXT], unkeep <ID>", () => {
    expect(parseArgv(["keep", ID], NONE)).toEqual({
      command: { verb: "keep", args: { id: ID } },
      json: false,
    });
    expect(parseArgv(["keep", ID, "--reason", "before tenant split", "--json"], NONE)).toEqual({
      command: { verb: "keep", args: { id: ID, reason: "before tenant split" } },
      json: true,
    });
    expect(parseArgv(["keep", "--reason=q4 audit", ID], NONE).command).toEqual({
      verb: "keep",
      args: { id: ID, reason: "q4 audit" },
    });
    expect(parseArgv(["unkeep", ID], NONE).command).toEqual({ verb: "unkeep", args: { id: ID } });
  });

  it("refuses keep/unkeep without exactly one id, --reason without a value or twice, --reason elsewhere", () => {
    expect(usageError(["keep"]).message).toContain("keep takes one backup id");
    expect(usageError(["keep", ID, ID]).message).toContain("keep takes one backup id");
    expect(usageError(["unkeep"]).message).toContain("unkeep takes one backup id");
    expect(usageError(["keep", ID, "--reason"]).message).toContain("--reason needs a value");
    expect(usageError(["keep", ID, "--reason", "  "]).message).toContain("--reason needs a value");
    expect(usageError(["keep", ID, "--reason", "a", "--reason", "b"]).message).toContain("given twice");
    expect(usageError(["unkeep", ID, "--reason", "x"]).message).toContain("--reason goes with keep");
    expect(usageError(["pre-upgrade", "--reason", "x"]).message).toContain("--reason goes with keep");
    expect(usageError(["keep", ID, "--url", "postgresql://h:5432/d"]).message).toContain(
      "keep takes no --url",
    );
  });
});
