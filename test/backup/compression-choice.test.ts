import { describe, expect, it } from "vitest";
import {
  type CandidateFigure,
  chooseCompression,
  chooseFromSample,
  type SampleFigures,
  settingChoice,
} from "../../src/backup/compression-choice.js";

const MB = 1024 * 1024;

function figures(candidates: CandidateFigure[]): SampleFigures {
  return { rawBytes: 1 * MB, tables: 3, readMs: 40, ms: 90, candidates };
}

/** Shapes measured on the bench's two datasets (1 MB samples, Node 20 zlib). */
const PROSE: CandidateFigure[] = [
  { spec: "gzip:6", bytes: 300_000, ms: 40 },
  { spec: "none", bytes: MB, ms: 0 },
  { spec: "gzip:1", bytes: 360_000, ms: 14 }, // 1.20x: too big
  { spec: "gzip:2", bytes: 345_000, ms: 15 }, // 1.15x: too big
  { spec: "gzip:3", bytes: 327_000, ms: 18 }, // 1.09x: too close to 1.10 for a sample
  { spec: "gzip:4", bytes: 315_000, ms: 24 }, // 1.05x: within
];
const HIGH_ENTROPY: CandidateFigure[] = [
  { spec: "gzip:6", bytes: 540_000, ms: 30 },
  { spec: "none", bytes: MB, ms: 0 },
  { spec: "gzip:1", bytes: 556_000, ms: 22 },
];

describe("chooseFromSample", () => {
  it("prose-like rows: the low levels are too big, so the first level within 1.07x of gzip:6's size", () => {
    // 1.07 on the sample, so that the whole dump (up to 0.025 worse on the bench) stays within 1.10x.
    const choice = chooseFromSample(figures(PROSE), "gzip:4");
    expect(choice.spec).toBe("gzip:4");
    expect(choice.chosenBy).toBe("sample");
    expect(choice.why).toBe("sample of 1.0 MB from 3 tables: gzip:4 1.05x gzip:6's size, 1.67x faster");
  });

  it("high-entropy rows (hashes, uuids, tokens): gzip:1, barely bigger than gzip:6", () => {
    const choice = chooseFromSample(figures(HIGH_ENTROPY), "gzip:4");
    expect(choice.spec).toBe("gzip:1");
    expect(choice.why).toContain("gzip:1 1.03x gzip:6's size");
    expect(choice.sample?.candidates).toEqual(HIGH_ENTROPY);
  });

  it("incompressible rows: no compression at all when its size is within 1.10x", () => {
    const choice = chooseFromSample(
      figures([
        { spec: "gzip:6", bytes: 0.97 * MB, ms: 45 },
        { spec: "none", bytes: MB, ms: 0 },
        { spec: "gzip:1", bytes: 0.98 * MB, ms: 30 },
      ]),
      "gzip:4",
    );
    expect(choice.spec).toBe("none");
    expect(choice.why).toContain("none 1.03x gzip:6's size, no compressing at all");
  });

  it("nothing faster within 1.07x: gzip:6 itself, naming the nearest it turned down", () => {
    const choice = chooseFromSample(
      figures([
        { spec: "gzip:6", bytes: 100_000, ms: 40 },
        { spec: "none", bytes: MB, ms: 0 },
        { spec: "gzip:1", bytes: 150_000, ms: 20 },
        { spec: "gzip:5", bytes: 109_000, ms: 45 },
      ]),
      "gzip:4",
    );
    expect(choice.spec).toBe("gzip:6");
    expect(choice.why).toContain("nothing faster within 1.07x gzip:6's size (gzip:5 1.09x)");
  });

  it("times too close to tell apart (a busy machine): the lower level, which does less work", () => {
    const choice = chooseFromSample(
      figures([
        { spec: "gzip:6", bytes: 500_000, ms: 21 },
        { spec: "gzip:1", bytes: 530_000, ms: 22 },
      ]),
      "gzip:4",
    );
    expect(choice.spec).toBe("gzip:1");
  });

  it("a level measured clearly slower than gzip:6 is not chosen for being lower", () => {
    const choice = chooseFromSample(
      figures([
        { spec: "gzip:6", bytes: 500_000, ms: 20 },
        { spec: "gzip:1", bytes: 530_000, ms: 40 },
      ]),
      "gzip:4",
    );
    expect(choice.spec).toBe("gzip:6");
  });

  it("without gzip:6 measured there is nothing to compare with: the default", () => {
    const choice = chooseFromSample(figures([{ spec: "gzip:1", bytes: 1000, ms: 1 }]), "gzip:4");
    expect(choice).toMatchObject({ spec: "gzip:4", chosenBy: "default" });
  });
});

describe("settingChoice", () => {
  it("DBBACKUP_COMPRESS wins and is the reason recorded", () => {
    expect(settingChoice("gzip:9")).toEqual({
      spec: "gzip:9",
      chosenBy: "setting",
      why: "DBBACKUP_COMPRESS=gzip:9",
    });
  });
});

describe("chooseCompression", () => {
  const sampled = { figures: figures(HIGH_ENTROPY) };

  it("DBBACKUP_COMPRESS wins over any sample", () => {
    expect(chooseCompression(sampled, 15, "gzip:9")).toMatchObject({ spec: "gzip:9", chosenBy: "setting" });
  });

  it("pg_dump 15 and older: the sample's choice; without one, gzip:4 and why", () => {
    expect(chooseCompression(sampled, 15, undefined)).toMatchObject({ spec: "gzip:1", chosenBy: "sample" });
    expect(chooseCompression({ none: "sample failed (boom)" }, 14, undefined)).toEqual({
      spec: "gzip:4",
      chosenBy: "default",
      why: "sample failed (boom): the default, gzip:4",
    });
  });

  it("pg_dump 15 and older, data too small to sample: the fastest level; DBBACKUP_COMPRESS still wins", () => {
    const small = { small: "4.1 MB of tables, too little for a sample to pay" };
    expect(chooseCompression(small, 15, undefined)).toEqual({
      spec: "gzip:1",
      chosenBy: "default",
      why: "4.1 MB of tables, too little for a sample to pay: the fastest level, gzip:1",
    });
    expect(chooseCompression(small, 15, "gzip:6")).toMatchObject({ spec: "gzip:6", chosenBy: "setting" });
  });

  it("pg_dump 16 and newer: the sample's zstd level within 1.07x of gzip:6's size, as pg_dump 17 spells it", () => {
    const zstd = figures([
      { spec: "gzip:6", bytes: 300_000, ms: 40 },
      { spec: "none", bytes: MB, ms: 0 },
      { spec: "zstd:1", bytes: 330_000, ms: 6 }, // 1.10x: too big for a sample
      { spec: "zstd:2", bytes: 318_000, ms: 8 }, // 1.06x: within
    ]);
    const choice = chooseCompression({ figures: zstd }, 17, undefined);
    expect(choice).toMatchObject({ spec: "zstd:2", chosenBy: "sample" });
    expect(choice.why).toBe("sample of 1.0 MB from 3 tables: zstd:2 1.06x gzip:6's size, 5.00x faster");
  });

  it("pg_dump 15 and older never get a level they can't take; without zstd in this Node, 16+ keeps zstd and says why", () => {
    const mixed = figures([
      { spec: "gzip:6", bytes: 300_000, ms: 40 },
      { spec: "zstd:1", bytes: 290_000, ms: 5 },
    ]);
    expect(chooseCompression({ figures: mixed }, 15, undefined).spec).toBe("gzip:6");
    expect(
      chooseCompression(
        { none: "not sampled: this Node (v20.20.2) has no zstd to measure pg_dump 17's with" },
        17,
        undefined,
      ),
    ).toEqual({
      spec: "zstd",
      chosenBy: "default",
      why: "not sampled: this Node (v20.20.2) has no zstd to measure pg_dump 17's with: the default, zstd",
    });
    expect(
      chooseCompression({ small: "2.0 MB of tables, too little for a sample to pay" }, 17, undefined).spec,
    ).toBe("zstd:1");
  });
});
