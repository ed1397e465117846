/** What the bench prints with: its log line on stderr, medians, seconds, MiB and ratios. */
import { MB } from "./measure.js";

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid];
  const lower = sorted[sorted.length % 2 === 0 ? mid - 1 : mid];
  return upper === undefined || lower === undefined ? undefined : (upper + lower) / 2;
}

export const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
export const mebibytes = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : `${(bytes / MB).toFixed(1)} MB`;
export const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? "n/a" : (a / b).toFixed(2);

/**
 * The median of each round's ratio: a round's two runs go back to back, so whatever slows
 * the machine for a while (other work on these shared cores) weighs on both of them alike.
 */
export function pairedRatio(ours: readonly number[], raw: readonly number[]): number | undefined {
  const ratios = ours.flatMap((ms, i) => {
    const base = raw[i];
    return base !== undefined && base > 0 ? [ms / base] : [];
  });
  return median(ratios);
}
