import { describe, expect, it } from "vitest";
import { diffRows, rowAlarms, rowSummary, type TableRows } from "../../src/backup/row-changes.js";

const t = (name: string, rows: number, exact = true, partitioned = false): TableRows => ({
  schema: "public",
  name,
  rows,
  exact,
  partitioned,
});

describe("diffRows", () => {
  it("flags a table that lost more than the threshold, and one that disappeared; growth is only counted", () => {
    const r = diffRows(
      [t("orders", 1200), t("users", 100), t("audit", 5000), t("tiny", 0), t("parent", 0, true, true)],
      [t("orders", 696), t("users", 95), t("tiny", 3), t("fresh", 7), t("parent", 0, true, true)],
      10,
    );
    expect(r.changed).toEqual([
      { table: "public.orders", before: 1200, after: 696, exact: true, alarming: true },
      { table: "public.tiny", before: 0, after: 3, exact: true, alarming: false },
      { table: "public.users", before: 100, after: 95, exact: true, alarming: false },
    ]);
    expect(r.disappeared).toEqual([{ table: "public.audit", before: 5000 }]);
    expect(r.appeared).toEqual([{ table: "public.fresh", after: 7 }]);
    expect(r.alarms).toBe(2);
    expect(rowAlarms(r)).toEqual([
      "public.orders lost 42% of its rows (1,200 → 696)",
      "public.audit is gone (it had 5,000 rows)",
    ]);
    expect(rowSummary(r)).toBe("3 tables changed, 1 new, 1 gone");
  });

  it("the threshold is the setting's; estimates are marked as such", () => {
    const r = diffRows([t("big", 1_000_000, false)], [t("big", 700_000, false)], 40);
    expect(r.alarms).toBe(0);
    const s = diffRows([t("big", 1_000_000, false)], [t("big", 500_000, false)], 40);
    expect(rowAlarms(s)).toEqual(["public.big lost 50% of its rows (1,000,000 → 500,000, estimated)"]);
    expect(rowSummary(diffRows([t("a", 1)], [t("a", 1)], 10))).toBe("no table's row count changed");
  });
});
