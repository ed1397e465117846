import { formatBytes } from "../../../src/format.js";
import type { Notice } from "../../../src/guardrails/notices.js";
import { type Block, escapeMrkdwn, section } from "./blocks.js";

/** The off-site part of a retention notice: the copies deleted, and those the bucket kept (its lock, no-delete). */
export function offsitePrunedBlocks(off: Extract<Notice, { kind: "pruned" }>["offsite"]): Block[] {
  if (!off) return [];
  const lines = [
    ...off.deleted.map((d) => `• \`${d.id}\` ${formatBytes(d.bytes)}: ${escapeMrkdwn(d.reason)}`),
    ...off.left.map((l) => `• \`${l.id}\` left in place: ${escapeMrkdwn(l.note)}`),
  ];
  const copies = `${off.deleted.length} cop${off.deleted.length === 1 ? "y" : "ies"}`;
  return [
    section(`*Off-site* deleted ${copies}, ${formatBytes(off.freedBytes)} freed:\n${lines.join("\n")}`),
  ];
}
