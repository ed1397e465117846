import { describe, expect, it } from "vitest";
import { objectOf, restoreAdvice } from "../../src/restore/advice.js";

const row = (kind: string, name: string, result = "failed") => ({ kind, name, result });

describe("restoreAdvice: advice that can help", () => {
  it("names what a restore command made", () => {
    expect(objectOf("CREATE CAST (integer AS text) WITH FUNCTION public.f(integer);")).toBe(
      "cast (integer AS text)",
    );
    expect(objectOf("CREATE OR REPLACE VIEW public.v AS SELECT 1;")).toBe("view public.v");
    expect(objectOf("CREATE MATERIALIZED VIEW public.mv AS SELECT 1")).toBe("materialized view public.mv");
    expect(objectOf("COPY public.items (v) FROM stdin;")).toBe("the rows of public.items");
    expect(objectOf('COPY failed for table "items": ERROR:  relation "allowed" does not exist')).toBe(
      "the rows of items",
    );
  });

  it("an object pg_restore can't make from the dump: fix it in the source, a new backup fails the same way", () => {
    const advice = restoreAdvice([
      row("table", "public.a", "ok"),
      row("error", "COPY public.items (v) FROM stdin;"),
    ]);
    expect(advice).toBe(
      "pg_dump can't write this so that it restores, and a new backup would fail the same way: the rows of public.items. Fix it in the source database (e.g. schema-qualify the names a function uses: a restore runs with an empty search_path), then back up and restore-test again.",
    );
    expect(advice).not.toContain("take a new one");
  });

  it("changed files or differing rows: a new backup is the answer", () => {
    expect(restoreAdvice([row("file", "db_full.dump")])).toContain("its files changed since it was taken");
    expect(restoreAdvice([row("table", "public.a")])).toBe(
      "Don't rely on this backup: take a new one and restore-test it.",
    );
    // Expected differences (a Supabase-only extension) are not what failed.
    expect(
      restoreAdvice([row("error", "CREATE EXTENSION pg_graphql", "expected"), row("table", "public.a")]),
    ).toBe("Don't rely on this backup: take a new one and restore-test it.");
  });
});
