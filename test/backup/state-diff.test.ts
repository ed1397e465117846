import { describe, expect, it } from "vitest";
import { diffStates } from "../../src/backup/state-diff.js";

const base = {
  label: "a",
  version: "PostgreSQL 15.6",
  extensions: [{ name: "pgcrypto", version: "1.3" }],
  views: [
    { schema: "public", name: "v1", reloptions: ["security_invoker=true"] },
    { schema: "public", name: "v2", reloptions: [] },
  ],
  policiesByTable: { "public.t": 2 },
};

describe("diffStates", () => {
  it("flags a view that lost security_invoker, but not one that gained it", () => {
    const after = {
      ...base,
      label: "b",
      version: "PostgreSQL 15.8",
      views: [
        { schema: "public", name: "v1", reloptions: ["security_invoker=false"] },
        { schema: "public", name: "v2", reloptions: ["security_invoker=on"] },
      ],
      policiesByTable: { "public.t": 1, "public.u": 1 },
    };
    const d = diffStates(base, after);
    expect(d.version).toEqual({ before: "PostgreSQL 15.6", after: "PostgreSQL 15.8", changed: true });
    expect(d.views.changed).toEqual([
      {
        view: "public.v1",
        before: "{security_invoker=true}",
        after: "{security_invoker=false}",
        lostSecurityInvoker: true,
      },
      { view: "public.v2", before: "{}", after: "{security_invoker=on}", lostSecurityInvoker: false },
    ]);
    expect(d.policies).toEqual([
      { table: "public.t", before: 2, after: 1 },
      { table: "public.u", before: 0, after: 1 },
    ]);
  });

  it("can't compare policies with a backup that didn't record them", () => {
    expect(diffStates({ ...base, policiesByTable: undefined }, base).policies).toBeUndefined();
  });
});
