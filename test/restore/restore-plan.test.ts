import { describe, expect, it } from "vitest";
import { isDbBackupError } from "../../src/errors.js";
import { planRestore, type RestoreChoices } from "../../src/restore/restore-plan.js";
import type { TargetInventory } from "../../src/restore/target-inventory.js";
import { makeManifest } from "../helpers/manifest.js";

const SOURCE = { systemIdentifier: "7300000000000000001", database: "postgres", oid: 5 };
const manifest = { ...makeManifest("20261129_010000_prod"), identity: SOURCE };

function target(overrides: Partial<TargetInventory> = {}): TargetInventory & { display: string } {
  return {
    identity: { systemIdentifier: "7300000000000000002", database: "fresh", oid: 16384 },
    serverVersion: "15.8",
    serverMajor: 15,
    userObjects: [],
    roles: ["postgres", "anon", "authenticated"],
    availableExtensions: ["pgcrypto", "citext"],
    installedExtensions: [],
    shipped: { keys: new Set(), tablesWithRows: new Set(), sequenceTables: new Map() },
    canPauseTriggers: true,
    display: "postgresql://postgres@db.example:5432/fresh",
    ...overrides,
  };
}
const fresh: RestoreChoices = { inPlace: false, createRoles: false, needsConfirm: true };
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (isDbBackupError(error)) return { code: error.code, message: error.message, hint: error.hint };
  }
  return undefined;
};

describe("what a restore will do, decided before anything is touched", () => {
  it("a fresh, compatible target: the plan lists roles to create and extensions it can't have", () => {
    const plan = planRestore(
      manifest,
      ["anon", "authenticated", "app_reader"],
      ["pgcrypto", "pg_graphql"],
      target(),
      {
        ...fresh,
        createRoles: true,
      },
    );
    expect(plan).toMatchObject({
      inPlace: false,
      overSource: false,
      missingRoles: ["app_reader"],
      missingExtensions: ["pg_graphql"],
    });
  });

  it("the source itself needs --in-place, and from the terminal its name typed again", () => {
    const source = target({ identity: SOURCE });
    expect(refusal(() => planRestore(manifest, [], [], source, fresh))?.code).toBe("restore_over_source");
    expect(refusal(() => planRestore(manifest, [], [], source, { ...fresh, inPlace: true }))?.code).toBe(
      "restore_unconfirmed",
    );
    expect(
      refusal(() => planRestore(manifest, [], [], source, { ...fresh, inPlace: true, confirm: "prod" }))
        ?.message,
    ).toContain("doesn't name the target database, which is postgres");
    expect(
      planRestore(manifest, [], [], source, { ...fresh, inPlace: true, confirm: "postgres" }).overSource,
    ).toBe(true);
    // From Slack the approval stands for the typed name.
    expect(
      planRestore(manifest, [], [], source, { ...fresh, inPlace: true, needsConfirm: false }).inPlace,
    ).toBe(true);
  });

  it("without a readable system identifier nothing is taken for the source", () => {
    const unknown = { ...manifest, identity: { ...SOURCE, systemIdentifier: null } };
    expect(
      planRestore(unknown, [], [], target({ identity: { ...SOURCE, systemIdentifier: null } }), fresh)
        .overSource,
    ).toBe(false);
  });

  it("a target with the user's objects, an older server, or roles missing is refused with what was found", () => {
    const busy = refusal(() =>
      planRestore(manifest, [], [], target({ userObjects: ["table public.orders"] }), fresh),
    );
    expect(busy).toMatchObject({
      code: "restore_target_not_empty",
      message: expect.stringContaining("table public.orders"),
    });
    const old = refusal(() =>
      planRestore(manifest, [], [], target({ serverMajor: 14, serverVersion: "14.12" }), fresh),
    );
    expect(old).toMatchObject({
      code: "restore_target_too_old",
      message: expect.stringContaining("Postgres 14.12"),
    });
    const roles = refusal(() => planRestore(manifest, ["app_reader"], [], target(), fresh));
    expect(roles).toMatchObject({
      code: "restore_roles_missing",
      hint: expect.stringContaining("--create-roles"),
    });
  });

  it("rows into a Supabase project's own tables need a login that may pause their triggers", () => {
    const platform = { kept: ["TABLE auth.users"], keptRows: [], rowsIntoExisting: ["auth.users"] };
    const denied = refusal(() =>
      planRestore(manifest, [], [], target({ canPauseTriggers: false }), fresh, platform),
    );
    expect(denied).toMatchObject({
      code: "restore_cannot_pause_triggers",
      message: expect.stringContaining("auth.users"),
      hint: expect.stringContaining("session_replication_role"),
    });
    expect(planRestore(manifest, [], [], target(), fresh, platform).platform).toEqual(platform);
  });
});
