import type { types } from "@slack/bolt";
import { type ErrorCode, slackColourOf } from "../../../src/errors.js";

/** Block Kit's pieces, within Slack's limits: every view is built of these. Pure. */

export type Block = types.KnownBlock;

export interface SlackMessage {
  text: string;
  /** Empty when the content sits in a coloured attachment: an update must still clear old blocks. */
  blocks: Block[];
  attachments?: { color: string; blocks: Block[] }[];
}

/** Slack's limits: 3,000 characters a section, 50 blocks a message. */
const SECTION_MAX = 3000;
const BLOCKS_MAX = 50;

function clip(text: string, max = SECTION_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack's mrkdwn treats & < > as markup; anything we didn't write ourselves is escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function section(text: string): Block {
  return { type: "section", text: { type: "mrkdwn", text: clip(text) } };
}

export function context(text: string): Block {
  return { type: "context", elements: [{ type: "mrkdwn", text: clip(text) }] };
}

export function message(text: string, blocks: Block[]): SlackMessage {
  const capped =
    blocks.length > BLOCKS_MAX ? [...blocks.slice(0, BLOCKS_MAX - 1), context("…cut to fit Slack")] : blocks;
  return { text: clip(text, 4000), blocks: capped };
}

/**
 * A failure: the same message takes the colour of how it ended (red for failed or stopped, amber
 * for refused as asked), in an attachment's colour bar that holds the blocks.
 */
export function failure(code: ErrorCode, text: string, blocks: Block[]): SlackMessage {
  const m = message(text, blocks);
  return { text: m.text, blocks: [], attachments: [{ color: slackColourOf(code), blocks: m.blocks }] };
}

/** Done, with a part that wasn't (a backup whose off-site copy failed): amber, the colour of "look at this". */
export function amber(text: string, blocks: Block[]): SlackMessage {
  return failure("usage", text, blocks);
}

/** An alarm (a guardrail notice, a failed restore test): red, like a failure. */
export function red(text: string, blocks: Block[]): SlackMessage {
  return failure("internal_error", text, blocks);
}

export function who(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** "14:05 UTC" of an ISO time. */
export function hhmm(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}
