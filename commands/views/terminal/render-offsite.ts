import { formatBytes } from "../../../src/format.js";
import type { OffsiteOutcome } from "../../kit/offsite-outcome.js";
import type { Style } from "./render.js";

/** A backup's off-site line: where the proven copy is, or why there is none and what to run. */
export function offsiteLines(o: OffsiteOutcome, id: string, s: Style): string[] {
  if (!o.ok)
    return [
      `  ${s.bad("✖")} off-site copy failed: ${o.message}`,
      `    The local backup is good and listed. ${o.hint.replace("<ID>", id)}`,
    ];
  const proof = o.proof === "etag" ? "proven by the store's checksum" : "proven by reading it back";
  return [
    `  ${s.ok("✔")} off-site ${o.location} (${formatBytes(o.bytes)} encrypted to ${o.recipients.join(", ")}, ${o.already ? "copied before" : proof})`,
  ];
}
