import { describe, expect, it } from "vitest";
import { diffExtensions, hasChanges } from "../../src/backup/extension-diff.js";
import { formatExtensionChanges } from "../../src/format.js";

describe("diffExtensions", () => {
  it("names what was added, removed and upgraded", () => {
    const before = [
      { name: "pgcrypto", version: "1.2" },
      { name: "pgjwt", version: "0.2.0" },
      { name: "plpgsql", version: "1.0" },
    ];
    const after = [
      { name: "pgcrypto", version: "1.3" },
      { name: "pg_graphql", version: "1.5.7" },
      { name: "plpgsql", version: "1.0" },
    ];
    const changes = diffExtensions(before, after);
    expect(changes).toEqual({
      added: ["pg_graphql"],
      removed: ["pgjwt"],
      changed: [{ name: "pgcrypto", from: "1.2", to: "1.3" }],
    });
    expect(hasChanges(changes)).toBe(true);
    expect(formatExtensionChanges(changes)).toBe("+pg_graphql, −pgjwt, pgcrypto 1.2→1.3");
  });

  it("says none when nothing changed", () => {
    const same = [{ name: "plpgsql", version: "1.0" }];
    expect(hasChanges(diffExtensions(same, same))).toBe(false);
    expect(formatExtensionChanges(diffExtensions(same, same))).toBe("none");
  });
});
