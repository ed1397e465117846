import { describe, expect, it } from "vitest";
import { splitUseLists } from "../../src/backup/read-split.js";

const LIST = `;
; Archive created at 2026-11-29 18:30:00 UTC
;     dbname: bench
;     TOC Entries: 9
;
;
; Selected TOC Entries:
;
215; 1259 16385 TABLE public sessions postgres
216; 1259 16390 TABLE public api_events postgres
217; 1259 16395 TABLE public objects postgres
3340; 0 16385 TABLE DATA public sessions postgres
3341; 0 16390 TABLE DATA public api_events postgres
3342; 0 16395 TABLE DATA public objects postgres
3343; 0 16400 TABLE DATA public tiny postgres
3190; 2606 16401 CONSTRAINT public sessions sessions_pkey postgres
`;

/** The entries a use-list reads: its lines that are not commented out. */
const reads = (list: string) => list.split("\n").filter((l) => /^\d+;/.test(l));

describe("splitUseLists", () => {
  const weights: Record<string, number> = {
    "public.sessions": 5000,
    "public.api_events": 4000,
    "public.objects": 3000,
    "public.tiny": 10,
  };
  const parts = splitUseLists(LIST, 2, (name) => weights[name] ?? 0);

  it("reads every entry exactly once across the parts", () => {
    const all = parts.flatMap(reads).sort();
    expect(all).toEqual(reads(LIST).sort());
  });

  it("balances the tables' data by weight, heaviest first; everything else in the first part", () => {
    expect(reads(parts[0] ?? "")).toEqual([
      "215; 1259 16385 TABLE public sessions postgres",
      "216; 1259 16390 TABLE public api_events postgres",
      "217; 1259 16395 TABLE public objects postgres",
      "3340; 0 16385 TABLE DATA public sessions postgres",
      "3343; 0 16400 TABLE DATA public tiny postgres",
      "3190; 2606 16401 CONSTRAINT public sessions sessions_pkey postgres",
    ]);
    expect(reads(parts[1] ?? "")).toEqual([
      "3341; 0 16390 TABLE DATA public api_events postgres",
      "3342; 0 16395 TABLE DATA public objects postgres",
    ]);
  });

  it("keeps the header and comments out what a part doesn't read, as pg_restore -L takes it", () => {
    expect(parts[1]).toContain(";     TOC Entries: 9");
    expect(parts[1]).toContain(";3340; 0 16385 TABLE DATA public sessions postgres");
  });

  it("one list when asked for one, or when there are fewer tables with data than parts", () => {
    expect(splitUseLists(LIST, 1, () => 1)).toEqual([LIST]);
    const one = "3340; 0 16385 TABLE DATA public sessions postgres\n";
    expect(splitUseLists(one, 4, () => 1)).toEqual([one]);
    expect(splitUseLists("", 2, () => 1)).toEqual([""]);
  });
});
