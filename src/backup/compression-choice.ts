/**
 * Which compression a backup uses, decided per database: DBBACKUP_COMPRESS when set, else what a
 * sample of this database's rows says (pg_dump ≤ 15), else the default. Pure: the sample's figures
 * are measured elsewhere (compression-sample.ts).
 */
import { defaultCompression } from "./compression.js";

/** gzip:6 is what pg_dump -Fc uses unless told otherwise: the runbook's size, the size to stay near. */
export const REFERENCE_SPEC = "gzip:6";
/** A dump may be this much bigger than gzip:6's at most (issue 15: "within 1.10x of gzip:6's"). */
export const SIZE_ALLOWANCE = 1.1;
/**
 * What a sample may show at most for the dump to stay within SIZE_ALLOWANCE: on the bench's two
 * databases whole dumps came out up to 0.025 worse against gzip:6 than their samples said.
 */
export const SAMPLE_ALLOWANCE = 1.07;
/**
 * Times this close to the fastest can't be told apart on a busy machine: then the lower level wins,
 * as it does less work per byte (zlib's levels 1–3 skip the lazy matching 4–9 do).
 */
const SAME_SPEED = 1.1;

/** none < gzip:1 < … < gzip:9: how much work a level does per byte. */
function effort(spec: string): number {
  if (spec === "none") return 0;
  return Number(/([0-9])$/.exec(spec)?.[1] ?? 9);
}

/** One candidate compressed over the whole sample. */
export interface CandidateFigure {
  /** As DBBACKUP_COMPRESS spells it: "none", "gzip:1" … "gzip:6". */
  spec: string;
  bytes: number;
  ms: number;
}

export interface SampleFigures {
  /** The sample's size before compression. */
  rawBytes: number;
  tables: number;
  /** Reading it from the server. */
  readMs: number;
  /** Reading and measuring it, in all. */
  ms: number;
  candidates: CandidateFigure[];
}

/** What sampling gave: its figures, why there are none, or that the data is too small to sample. */
export type Measured = { figures: SampleFigures } | { none: string } | { small: string };

/** Data too small to sample gets the fastest level: its dump is at most a few hundred KB bigger. */
export function smallDataSpec(clientMajor: number): string {
  return clientMajor >= 16 ? "zstd:1" : "gzip:1";
}

export interface CompressionChoice {
  spec: string;
  chosenBy: "sample" | "setting" | "default";
  /** One line a person reads: what was measured, or why nothing was. */
  why: string;
  sample?: SampleFigures;
}

const times = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(2)}x`;
const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** DBBACKUP_COMPRESS overrides any measurement. */
export function settingChoice(spec: string): CompressionChoice {
  return { spec, chosenBy: "setting", why: `DBBACKUP_COMPRESS=${spec}` };
}

export function defaultChoice(spec: string, why: string): CompressionChoice {
  return { spec, chosenBy: "default", why };
}

/**
 * The fastest candidate whose output is at most SAMPLE_ALLOWANCE × gzip:6's; among candidates within
 * SAME_SPEED of the fastest time, the lowest level. Falls back to `fallback` when gzip:6 wasn't measured.
 */
export function chooseFromSample(figures: SampleFigures, fallback: string): CompressionChoice {
  const reference = figures.candidates.find((c) => c.spec === REFERENCE_SPEC);
  if (!reference || reference.bytes <= 0) {
    return defaultChoice(fallback, `sample not measured at ${REFERENCE_SPEC}: the default`);
  }
  const within = figures.candidates.filter((c) => c.bytes <= reference.bytes * SAMPLE_ALLOWANCE);
  const fastest = Math.min(...within.map((c) => c.ms));
  const [best] = within
    .filter((c) => c.ms <= fastest * SAME_SPEED)
    .sort((a, b) => effort(a.spec) - effort(b.spec));
  const chosen = best ?? reference;
  const head = `sample of ${megabytes(figures.rawBytes)} from ${figures.tables} table${figures.tables === 1 ? "" : "s"}`;
  if (chosen.spec === REFERENCE_SPEC) {
    const nearest = figures.candidates
      .filter((c) => c.spec !== REFERENCE_SPEC)
      .sort((a, b) => a.bytes - b.bytes)[0];
    const rejected = nearest ? ` (${nearest.spec} ${times(nearest.bytes, reference.bytes)})` : "";
    return {
      spec: chosen.spec,
      chosenBy: "sample",
      why: `${head}: nothing faster within ${SAMPLE_ALLOWANCE.toFixed(2)}x ${REFERENCE_SPEC}'s size${rejected}`,
      sample: figures,
    };
  }
  return {
    spec: chosen.spec,
    chosenBy: "sample",
    why: `${head}: ${chosen.spec} ${times(chosen.bytes, reference.bytes)} ${REFERENCE_SPEC}'s size, ${chosen.ms > 0 ? `${times(reference.ms, chosen.ms)} faster` : "no compressing at all"}`,
    sample: figures,
  };
}

/** Whether this pg_dump takes `spec`: 16 and newer take any method's levels, 15 and older gzip's. */
function dumpTakes(spec: string, clientMajor: number): boolean {
  return clientMajor >= 16 || spec === "none" || spec.startsWith("gzip:");
}

/**
 * DBBACKUP_COMPRESS when set; else what the sample says (gzip levels for pg_dump ≤ 15, zstd's for
 * 16 and newer, each against gzip:6's size); else the default, with the reason.
 */
export function chooseCompression(
  measured: Measured,
  clientMajor: number,
  setting: string | undefined,
): CompressionChoice {
  if (setting !== undefined) return settingChoice(setting);
  const fallback = defaultCompression(clientMajor);
  if ("none" in measured) return defaultChoice(fallback, `${measured.none}: the default, ${fallback}`);
  if ("small" in measured) {
    const fastest = smallDataSpec(clientMajor);
    return defaultChoice(fastest, `${measured.small}: the fastest level, ${fastest}`);
  }
  // A newer server's sample (zstd) with an older pg_dump can't happen: pg_dump refuses newer servers.
  const usable = measured.figures.candidates.filter((c) => dumpTakes(c.spec, clientMajor));
  return chooseFromSample({ ...measured.figures, candidates: usable }, fallback);
}
