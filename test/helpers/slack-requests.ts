/**
 * Slack-signed HTTP requests to a Bolt HTTP receiver, shaped like the ones Slack sends: slash commands
 * as form fields, interactivity as a `payload=<json>` form field, both with `Content-Type:
 * application/x-www-form-urlencoded` exactly (Bolt compares the header verbatim: with a `;charset=…` suffix
 * it would JSON.parse the form and answer 400, so never pass a URLSearchParams body to fetch here).
 */
import { createHmac } from "node:crypto";

export interface SlackHttpResult {
  status: number;
  /** Response body as text ("" for a bare ack; JSON text when ack() was given a message). */
  body: string;
  headers: Headers;
  /** From sending the request to having read the whole response. */
  elapsedMs: number;
}

export interface SignOptions {
  /** Unix seconds used for signing and X-Slack-Request-Timestamp (default now). */
  timestamp?: number;
  /** Send this X-Slack-Signature instead of the computed one (a forgery). */
  signature?: string;
  /** Leave out both signature headers. */
  unsigned?: boolean;
  contentType?: string;
  timeoutMs?: number;
}

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function slackSignature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** POSTs `body` to `url` signed as Slack would (or forged/unsigned per options). Bounded by timeoutMs (10 s). */
export async function signedRequest(
  url: string,
  signingSecret: string,
  body: string,
  options: SignOptions = {},
): Promise<SlackHttpResult> {
  const timestamp = options.timestamp ?? nowSeconds();
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/x-www-form-urlencoded",
    "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
  };
  if (!options.unsigned) {
    headers["x-slack-request-timestamp"] = String(timestamp);
    headers["x-slack-signature"] = options.signature ?? slackSignature(signingSecret, timestamp, body);
  }
  const started = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text,
    headers: response.headers,
    elapsedMs: performance.now() - started,
  };
}

/** Form-encodes fields the way Slack does (application/x-www-form-urlencoded, spaces as +). */
export function formEncode(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** Where respond() goes when a test doesn't pass one: a closed local port, so it fails fast and never leaves the host. */
export const NO_RESPONSE_URL = "http://127.0.0.1:1/response-url-not-set";

export interface SlashCommandFields {
  text: string;
  user_id: string;
  channel_id: string;
  command?: string;
  user_name?: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  api_app_id?: string;
  /** Use fakeSlack.responseUrl({ channel, user }) so respond() lands in the fake. */
  response_url?: string;
  trigger_id?: string;
}

export function slashCommandBody(fields: SlashCommandFields): string {
  return formEncode({
    token: "deprecated-verification-token",
    team_id: fields.team_id ?? "T0FAKE0001",
    team_domain: fields.team_domain ?? "fake-workspace",
    channel_id: fields.channel_id,
    channel_name: fields.channel_name ?? fields.channel_id.toLowerCase(),
    user_id: fields.user_id,
    user_name: fields.user_name ?? fields.user_id.toLowerCase(),
    command: fields.command ?? "/dbbackup",
    text: fields.text,
    api_app_id: fields.api_app_id ?? "A0FAKEAPP1",
    is_enterprise_install: "false",
    response_url: fields.response_url ?? NO_RESPONSE_URL,
    trigger_id: fields.trigger_id ?? `${Date.now()}.${Math.floor(Math.random() * 1e9)}.fake`,
  });
}

/** A signed `/dbbackup <text>` (or `command`) as Slack posts it to the Request URL. */
export function slashCommand(
  receiverUrl: string,
  signingSecret: string,
  fields: SlashCommandFields,
  options: SignOptions = {},
): Promise<SlackHttpResult> {
  return signedRequest(receiverUrl, signingSecret, slashCommandBody(fields), options);
}

export interface BlockActionFields {
  action_id: string;
  value: string;
  user_id: string;
  channel_id: string;
  /** ts of the message holding the button. */
  message_ts: string;
  block_id?: string;
  user_name?: string;
  team_id?: string;
  api_app_id?: string;
  /** Use fakeSlack.responseUrl({ channel, user, messageTs }) so respond() lands in the fake. */
  response_url?: string;
  /** The message as Slack includes it (fakeSlack.messagePayload(channel, ts)); default a stub with the ts. */
  message?: Record<string, unknown>;
  /** Button label (default the action_id). */
  text?: string;
  is_ephemeral?: boolean;
}

export function blockActionPayload(fields: BlockActionFields): Record<string, unknown> {
  const teamId = fields.team_id ?? "T0FAKE0001";
  const userName = fields.user_name ?? fields.user_id.toLowerCase();
  return {
    type: "block_actions",
    user: { id: fields.user_id, username: userName, name: userName, team_id: teamId },
    api_app_id: fields.api_app_id ?? "A0FAKEAPP1",
    token: "deprecated-verification-token",
    container: {
      type: "message",
      message_ts: fields.message_ts,
      channel_id: fields.channel_id,
      is_ephemeral: fields.is_ephemeral ?? false,
    },
    trigger_id: `${Date.now()}.${Math.floor(Math.random() * 1e9)}.fake`,
    team: { id: teamId, domain: "fake-workspace" },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: fields.channel_id, name: fields.channel_id.toLowerCase() },
    message: fields.message ?? { type: "message", ts: fields.message_ts, text: "" },
    state: { values: {} },
    response_url: fields.response_url ?? NO_RESPONSE_URL,
    actions: [
      {
        type: "button",
        action_id: fields.action_id,
        block_id: fields.block_id ?? "actions",
        text: { type: "plain_text", text: fields.text ?? fields.action_id, emoji: true },
        value: fields.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** A signed button click (block_actions) as Slack posts it: `payload=<json>` form-encoded. */
export function blockAction(
  receiverUrl: string,
  signingSecret: string,
  fields: BlockActionFields,
  options: SignOptions = {},
): Promise<SlackHttpResult> {
  return signedRequest(
    receiverUrl,
    signingSecret,
    formEncode({ payload: JSON.stringify(blockActionPayload(fields)) }),
    options,
  );
}
