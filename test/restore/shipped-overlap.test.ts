import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseToc, useList } from "../../src/backup/toc.js";
import { overlapWith } from "../../src/restore/shipped-overlap.js";
import { PLATFORM_SCHEMAS } from "../../src/restore/target-inventory.js";

/** Real `pg_restore --list` of the Supabase-shaped sample (see test/backup/toc.test.ts). */
const tocText = readFileSync(path.join("test", "fixtures", "supabase.toc.txt"), "utf8");
const entries = parseToc(tocText).entries;

/** What a new project has: its auth and storage, built by the platform, and nothing of the user's. */
const freshProject = {
  keys: new Set([
    "SCHEMA auth auth",
    "SCHEMA storage storage",
    "SCHEMA extensions extensions",
    "RELATION auth users",
    "RELATION auth users_pkey",
    "CONSTRAINT auth users users_pkey",
    "CONSTRAINT auth users users_email_key",
    "FUNCTION auth uid()",
    "RELATION storage buckets",
    "RELATION storage objects",
    "CONSTRAINT storage buckets buckets_pkey",
    "CONSTRAINT storage objects objects_bucket_id_fkey",
  ]),
  tablesWithRows: new Set(["storage.buckets"]),
  sequenceTables: new Map<string, string>(),
};

describe("a Supabase project's own objects, held against the archive", () => {
  const overlap = overlapWith(entries, PLATFORM_SCHEMAS, freshProject);

  it("leaves what the project has to the project, and names each", () => {
    expect(overlap.kept).toEqual(
      expect.arrayContaining([
        "SCHEMA auth",
        "SCHEMA storage",
        "TABLE auth.users",
        "FUNCTION auth.uid()",
        "CONSTRAINT auth.users users_pkey",
        "TABLE storage.objects",
        "FK CONSTRAINT storage.objects objects_bucket_id_fkey",
      ]),
    );
    expect(overlap.kept.some((k) => k.includes("public."))).toBe(false);
  });

  it("restores the user's objects on the project's tables: the trigger on auth.users, storage policies", () => {
    const restored = entries.filter((e) => !overlap.skip.has(e.dumpId));
    const tags = restored.map((e) => `${e.desc} ${e.namespace ?? "-"} ${e.tag}`);
    expect(tags).toContain("TRIGGER auth users on_auth_user_created");
    expect(tags).toContain("POLICY storage objects Owners upload objects");
    expect(tags).toContain("CONSTRAINT storage objects objects_bucket_id_name_key");
    expect(tags).toContain("TABLE public tenants");
  });

  it("rows go into the project's empty tables; a table that has rows of its own keeps them", () => {
    expect(overlap.rowsIntoExisting.sort()).toEqual(["auth.users", "storage.objects"]);
    expect(overlap.keptRows).toEqual(["storage.buckets"]);
    const skipped = entries.filter((e) => overlap.skip.has(e.dumpId));
    expect(skipped.filter((e) => e.desc === "TABLE DATA").map((e) => e.tag)).toEqual(["buckets"]);
    // A comment goes with its object.
    expect(skipped.some((e) => e.desc === "COMMENT" && e.tag === "FUNCTION uid()")).toBe(true);
  });

  it("a sequence numbering the project's own rows keeps the project's value, and says so", () => {
    const withSequence = parseToc(
      `${tocText}\n9001; 0 0 SEQUENCE SET auth refresh_tokens_id_seq postgres\n9002; 0 0 SEQUENCE SET auth audit_id_seq postgres\n`,
    ).entries;
    const project = {
      ...freshProject,
      tablesWithRows: new Set(["storage.buckets", "auth.refresh_tokens"]),
      sequenceTables: new Map([
        ["auth.refresh_tokens_id_seq", "auth.refresh_tokens"],
        ["auth.audit_id_seq", "auth.audit"],
      ]),
    };
    const held = overlapWith(withSequence, PLATFORM_SCHEMAS, project);
    expect(held.keptSequences).toEqual(["auth.refresh_tokens_id_seq"]);
    expect(held.skip.has(9001)).toBe(true);
    // Its table is empty in the project: the backup's value goes in with the backup's rows.
    expect(held.skip.has(9002)).toBe(false);
  });

  it("the use-list comments out exactly the skipped entries and keeps the order", () => {
    const list = useList(tocText, overlap.skip).split("\n");
    const commented = list.filter((l) => /^;\d+;/.test(l));
    expect(commented).toHaveLength(overlap.skip.size);
    expect(list.map((l) => l.replace(/^;(?=\d)/, ""))).toEqual(tocText.split("\n"));
  });

  it("an empty vanilla database: nothing is skipped", () => {
    const none = { keys: new Set<string>(), tablesWithRows: new Set<string>(), sequenceTables: new Map() };
    expect(overlapWith(entries, PLATFORM_SCHEMAS, none)).toEqual({
      kept: [],
      keptRows: [],
      keptSequences: [],
      rowsIntoExisting: [],
      skip: new Set(),
    });
  });
});
