import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { BufferedIncomingMessage } from "@slack/bolt";
import type { Logger } from "pino";
import { isDbBackupError } from "../errors.js";

/** Slack's window: a request is refused once its timestamp is more than this far from now, either way. */
export const SIGNED_REQUEST_WINDOW_S = 300;
const BODY_LIMIT = 1_000_000;

/** Slack's `v0=` HMAC over `v0:{timestamp}:{body}`, compared in constant time. Pure. */
export function signatureValid(secret: string, timestamp: string, body: Buffer, signature: string): boolean {
  const expected = Buffer.from(
    `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export type GateVerdict = { pass: true; claimKey?: string } | { pass: false; status: 401; why: string };

/**
 * What to do with a request before Bolt sees it. Pure: Bolt refuses unsigned, forged and stale
 * requests itself, but accepts any timestamp in the future; and a correctly signed request sent
 * twice is a replay, recognised by its timestamp and signature.
 */
export function judgeRequest(
  headers: IncomingMessage["headers"],
  body: Buffer,
  secret: string,
  nowS: number,
): GateVerdict {
  const timestamp = headers["x-slack-request-timestamp"];
  const signature = headers["x-slack-signature"];
  if (typeof timestamp !== "string" || typeof signature !== "string") return { pass: true };
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return { pass: true };
  if (ts > nowS + SIGNED_REQUEST_WINDOW_S) {
    return { pass: false, status: 401, why: `timestamp ${ts - nowS} s in the future` };
  }
  if (ts < nowS - SIGNED_REQUEST_WINDOW_S || !signatureValid(secret, timestamp, body, signature)) {
    return { pass: true }; // Bolt answers 401, and an unsigned request must not claim a key
  }
  return { pass: true, claimKey: `slack-request:${timestamp}:${signature}` };
}

export interface GateOptions {
  signingSecret: string;
  logger: Logger;
  /** True the first time a key is claimed (kept across restarts and shared by bot processes). */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** A replay was answered without being run. */
  onReplay?(body: Buffer): void;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function answer(res: ServerResponse, status: number, body?: Record<string, unknown>): void {
  if (body) {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  } else {
    res.writeHead(status);
    res.end();
  }
}

/** A slash command that only asks for help: answering it twice changes nothing. Pure. */
export function asksOnlyForHelp(body: Buffer): boolean {
  const form = new URLSearchParams(body.toString("utf8"));
  if (!form.has("command")) return false;
  return /^(|help|--help|-h)$/.test((form.get("text") ?? "").trim().toLowerCase());
}

/** What the asker is told when the state (where replays are remembered) can't be reached. */
function stateDownAnswer(error: unknown): Record<string, unknown> {
  const what = isDbBackupError(error)
    ? `${error.message} ${error.hint}`
    : "dbbackup can't reach its state right now.";
  return { response_type: "ephemeral", text: `Nothing was done: ${what} \`/dbbackup help\` still answers.` };
}

/**
 * Wraps Bolt's HTTP request listener: a request dated more than 5 minutes ahead gets 401, and a
 * signed request seen before (same timestamp and signature, within the window, across restarts) is
 * answered but not run again. The body read here is handed to Bolt as `rawBody`, which it reuses.
 */
export function replayGate(options: GateOptions, bolt: RequestListener): RequestListener {
  return (req, res) => {
    if (req.method !== "POST") {
      bolt(req, res);
      return;
    }
    void (async () => {
      const body = await readBody(req);
      if (body === undefined) {
        answer(res, 413);
        return;
      }
      const verdict = judgeRequest(req.headers, body, options.signingSecret, Math.floor(Date.now() / 1000));
      if (!verdict.pass) {
        options.logger.warn({ why: verdict.why }, "refused a Slack request dated in the future");
        answer(res, verdict.status);
        return;
      }
      if (verdict.claimKey) {
        const ttlMs = 2 * SIGNED_REQUEST_WINDOW_S * 1000 + 60_000;
        const claimed = await options.claimOnce(verdict.claimKey, ttlMs).catch((error: unknown) => error);
        if (typeof claimed !== "boolean") {
          if (!asksOnlyForHelp(body)) {
            options.logger.error({ err: claimed }, "the state can't be reached: a Slack request was not run");
            answer(res, 200, stateDownAnswer(claimed));
            return;
          }
        } else if (!claimed) {
          options.logger.warn("answered a replayed Slack request without running it");
          options.onReplay?.(body);
          answer(res, 200, {
            response_type: "ephemeral",
            text: "dbbackup already received this exact request; it was not run again.",
          });
          return;
        }
      }
      (req as BufferedIncomingMessage).rawBody = body;
      bolt(req, res);
    })().catch((error: unknown) => {
      options.logger.error({ err: error }, "the Slack request gate failed");
      if (!res.headersSent) answer(res, 500);
    });
  };
}
