/**
 * A fake Slack Web API on 127.0.0.1 for tests: the real WebClient (and Bolt's) talk HTTP to it via
 * `slackApiUrl: fake.url`. It answers the methods the bot uses the way Slack does (same shapes, same error
 * codes, same HTTP status and headers), keeps the channel messages as a user would see them (updates replace
 * in place, with Slack's "omitted blocks are kept" rule), records every call, and lets a test inject
 * failures, rate limits and latency.
 *
 * What it models, in short:
 * - auth: `Authorization: Bearer <token>` or a `token` field; none → not_authed, wrong → invalid_auth.
 * - scopes: each method needs a scope (chat:write, usergroups:read, users:read, channels:read); the default
 *   grant is the app manifest's (commands, chat:write, chat:write.public, usergroups:read), so users.info
 *   and conversations.info answer missing_scope unless `scopes` adds users:read / channels:read — as real
 *   Slack would for that manifest.
 * - Block Kit limits (50 blocks, 3,000 chars a section, 10 fields, 25 actions, button/confirm text limits,
 *   unique action_id/block_id, non-empty text) → invalid_blocks; no text/blocks/attachments → no_text.
 * - 429 with `Retry-After` and `{ok:false,error:"ratelimited"}`; unknown method → unknown_method.
 * - Socket Mode (only with the `socketMode` option): apps.connections.open with the app token (xapp-…,
 *   `Authorization: Bearer`) answers {ok:true, url} from `socketMode.url()` (see fake-socket-mode.ts); the bot
 *   token there, or the app token on any other method → not_allowed_token_type. Without the option
 *   apps.connections.open stays unknown_method and an xapp token is just an unknown token (invalid_auth).
 * - response_url: `responseUrl(context)` mints one; posts are recorded and applied (ephemeral,
 *   in_channel, replace_original, delete_original); 5 uses and a 30 minute lifetime, then 404.
 */
import { EventEmitter } from "node:events";
import http from "node:http";
import { answerFakeError, listenLocal } from "./local-http.js";

export type SlackBlock = { type: string } & Record<string, unknown>;

/** A call's arguments as Slack received them: form fields are strings; blocks/attachments/metadata decoded. */
export type CallBody = Record<string, unknown> & {
  channel?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  user?: string;
  usergroup?: string;
  blocks?: SlackBlock[];
  attachments?: Record<string, unknown>[];
};

export interface FakeSlackCall {
  method: string;
  body: CallBody;
  /** Token from the Authorization header, else from the `token` field. */
  token: string | undefined;
  contentType: string;
  /** Date.now() when the request arrived. */
  at: number;
  /** HTTP status and JSON body the fake answered with. */
  status: number;
  response: Record<string, unknown>;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: SlackBlock[];
  attachments: Record<string, unknown>[];
  /** Author: the bot user for API posts; the responding user's context for response_url in_channel posts. */
  user: string;
  bot_id: string;
  /** 0 when posted; +1 on every chat.update or replace_original. */
  updates: number;
  edited?: { user: string; ts: string };
  deleted: boolean;
  reply_count: number;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string;
  blocks: SlackBlock[];
  via: "chat.postEphemeral" | "response_url";
}

export interface ResponseUrlContext {
  channel: string;
  user: string;
  /** The message a block action came from: replace_original / delete_original act on it. */
  messageTs?: string;
}

export interface FakeResponsePost {
  id: string;
  url: string;
  body: Record<string, unknown>;
  at: number;
  status: number;
  /** "ok", or why it was refused: used_url, expired_url, no_service, invalid_blocks, no_text, … */
  outcome: string;
}

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Whether the bot is in the channel (default true). Public + not member needs chat:write.public. */
  isMember?: boolean;
  /** If given, chat.postEphemeral to a user not listed → user_not_in_channel. */
  members?: string[];
}

export interface FakeUser {
  id: string;
  name: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface FakeSlackOptions {
  /** The valid bot token (default "xoxb-fake-token"). */
  token?: string;
  teamId?: string;
  teamName?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Granted bot scopes (default the manifest's: commands, chat:write, chat:write.public, usergroups:read). */
  scopes?: string[];
  /** User group id → member user ids; "unavailable" = a plan without user groups (plan_upgrade_required). */
  userGroups?: Record<string, string[]> | "unavailable";
  /** Known channels; if omitted, any id-shaped channel (C…/G…) exists, is public and has the bot. */
  channels?: FakeChannel[];
  /** Known users; if omitted, any id-shaped user (U…/W…) exists, named after its id. */
  users?: FakeUser[];
  /** Latency added to every Web API answer, ms (default 0). */
  latencyMs?: number;
  /** response_url limits (Slack: 5 uses, 30 minutes). */
  responseUrlMaxUses?: number;
  responseUrlTtlMs?: number;
  /** Enables apps.connections.open: the app-level token (default "xapp-fake-<appId>") and the WebSocket URL it hands out. */
  socketMode?: { appToken?: string; url: () => string };
}

export interface FaultOptions {
  /** How many calls the fault applies to (default 1; Infinity for all). */
  times?: number;
}

export interface FakeSlack {
  /** What WebClient's `slackApiUrl` wants: http://127.0.0.1:PORT/api/ (methods are appended to it). */
  readonly url: string;
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  readonly token: string;
  /** The app-level token apps.connections.open accepts (undefined without the socketMode option). */
  readonly appToken: string | undefined;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  /** Every Web API call, in arrival order (including failed and injected ones). */
  readonly calls: readonly FakeSlackCall[];
  callsTo(method: string): FakeSlackCall[];
  /** Resolves with the first call (already made or future) to `method` matching `predicate`; rejects after timeoutMs. */
  waitForCall(
    method: string,
    predicate?: (call: FakeSlackCall) => boolean,
    timeoutMs?: number,
  ): Promise<FakeSlackCall>;
  /** Channel messages and thread replies as they stand now (deleted ones have deleted: true). */
  readonly messages: readonly FakeMessage[];
  message(channel: string, ts: string): FakeMessage | undefined;
  /** Replies in a thread, oldest first. */
  replies(channel: string, threadTs: string): FakeMessage[];
  /** The shape Slack puts in a block_actions payload's `message`. */
  messagePayload(channel: string, ts: string): Record<string, unknown> | undefined;
  readonly ephemerals: readonly FakeEphemeral[];
  /** Mints a response_url for a slash command or block action. */
  responseUrl(context: ResponseUrlContext): string;
  readonly responsePosts: readonly FakeResponsePost[];
  waitForResponsePost(
    predicate?: (post: FakeResponsePost) => boolean,
    timeoutMs?: number,
  ): Promise<FakeResponsePost>;
  /** Next call(s) to `method` ("*" = any method) answer {ok:false, error, ...extra}. */
  failNext(method: string, error: string, options?: FaultOptions & { extra?: Record<string, unknown> }): void;
  /** Next call(s) get HTTP 429, `Retry-After: retryAfterSeconds` and {ok:false,error:"ratelimited"}. */
  rateLimitNext(method: string, retryAfterSeconds?: number, options?: FaultOptions): void;
  /** Next call(s) get this HTTP status with a non-JSON body (a Slack outage). */
  httpErrorNext(method: string, status: number, options?: FaultOptions): void;
  /** Next call(s) are answered normally, but only after `ms`. */
  delayNext(method: string, ms: number, options?: FaultOptions): void;
  clearFaults(): void;
  setUserGroup(id: string, users: string[]): void;
  /** Forget calls, messages, ephemerals, response posts and faults. */
  reset(): void;
  close(): Promise<void>;
}

type Fault =
  | { kind: "error"; error: string; extra: Record<string, unknown>; remaining: number }
  | { kind: "ratelimit"; retryAfter: number; remaining: number }
  | { kind: "http"; status: number; remaining: number }
  | { kind: "delay"; ms: number; remaining: number };

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  rawBody?: string;
}

class SlackError {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

const DEFAULT_SCOPES = ["commands", "chat:write", "chat:write.public", "usergroups:read"];
const JSON_FIELDS = ["blocks", "attachments", "metadata", "user_auth_blocks"];

const METHOD_SCOPES: Record<string, string[]> = {
  "auth.test": [],
  // An app-level token's scope; checked separately (app tokens carry connections:write).
  "apps.connections.open": [],
  "chat.postMessage": ["chat:write"],
  "chat.update": ["chat:write"],
  "chat.postEphemeral": ["chat:write"],
  "chat.delete": ["chat:write"],
  "usergroups.users.list": ["usergroups:read"],
  "usergroups.list": ["usergroups:read"],
  "users.info": ["users:read"],
  "conversations.info": ["channels:read", "groups:read", "im:read", "mpim:read"],
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Parses a Web API request body the way Slack accepts them: form, JSON, multipart, or query string. */
async function parseArgs(
  raw: Buffer,
  contentType: string,
  query: URLSearchParams,
): Promise<{ args: Record<string, unknown> } | { error: string }> {
  const args: Record<string, unknown> = Object.fromEntries(query);
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  if (raw.length > 0) {
    if (type === "application/json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString("utf8"));
      } catch {
        return { error: "invalid_json" };
      }
      if (!isRecord(parsed)) return { error: "invalid_json" };
      Object.assign(args, parsed);
    } else if (type === "multipart/form-data") {
      const form = await new Response(new Uint8Array(raw), {
        headers: { "content-type": contentType },
      }).formData();
      for (const [key, value] of form) {
        args[key] = typeof value === "string" ? value : { filename: value.name, size: value.size };
      }
    } else {
      // application/x-www-form-urlencoded (what @slack/web-api sends), or no content type at all.
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString("utf8"))));
    }
  }
  return { args };
}

/** JSON-decodes blocks/attachments/metadata sent as strings; undecodable ones stay strings (and get rejected). */
function decodeJsonFields(args: Record<string, unknown>): CallBody {
  const body: Record<string, unknown> = { ...args };
  for (const field of JSON_FIELDS) {
    const value = body[field];
    if (typeof value === "string") {
      try {
        body[field] = JSON.parse(value);
      } catch {
        // left as the raw string; validation answers invalid_blocks_format / invalid_attachments
      }
    }
  }
  return body as CallBody;
}

// ---------------------------------------------------------------- Block Kit validation

function blockProblem(blocks: unknown): { error: string; message: string } | undefined {
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks))
    return { error: "invalid_blocks_format", message: "blocks must be a JSON array" };
  const bad = (message: string) => ({ error: "invalid_blocks", message });
  if (blocks.length > 50)
    return bad(`no more than 50 items allowed [json-pointer:/blocks] (got ${blocks.length})`);
  const blockIds = new Set<string>();
  const actionIds = new Set<string>();
  const textProblem = (t: unknown, where: string, max: number, plainOnly = false): string | undefined => {
    if (!isRecord(t)) return `${where} must be a text object`;
    if (t.type !== "plain_text" && t.type !== "mrkdwn") return `${where}.type must be plain_text or mrkdwn`;
    if (plainOnly && t.type !== "plain_text") return `${where} must be plain_text`;
    const text = str(t.text);
    if (text === undefined || text.length === 0) return `${where}.text must be at least 1 character`;
    if (text.length > max)
      return `${where}.text must be less than ${max + 1} characters (got ${text.length})`;
    return undefined;
  };
  const elementProblem = (el: unknown, where: string): string | undefined => {
    if (!isRecord(el) || typeof el.type !== "string") return `${where} must be an element with a type`;
    const actionId = str(el.action_id);
    if (actionId !== undefined) {
      if (actionId.length > 255) return `${where}.action_id must be less than 256 characters`;
      if (actionIds.has(actionId)) return `${where}.action_id "${actionId}" already exists`;
      actionIds.add(actionId);
    }
    if (el.type === "button") {
      const p = textProblem(el.text, `${where}.text`, 75, true);
      if (p) return p;
      if (typeof el.value === "string" && el.value.length > 2000)
        return `${where}.value must be less than 2001 characters`;
      if (el.style !== undefined && el.style !== "primary" && el.style !== "danger")
        return `${where}.style must be primary or danger`;
    }
    if (el.confirm !== undefined) {
      const c = el.confirm;
      if (!isRecord(c)) return `${where}.confirm must be an object`;
      return (
        textProblem(c.title, `${where}.confirm.title`, 100, true) ??
        textProblem(c.text, `${where}.confirm.text`, 300) ??
        textProblem(c.confirm, `${where}.confirm.confirm`, 30, true) ??
        textProblem(c.deny, `${where}.confirm.deny`, 30, true)
      );
    }
    return undefined;
  };
  for (const [i, block] of blocks.entries()) {
    const where = `[json-pointer:/blocks/${i}]`;
    if (!isRecord(block) || typeof block.type !== "string")
      return bad(`${where} must be a block with a type`);
    const blockId = str(block.block_id);
    if (blockId !== undefined) {
      if (blockId.length > 255) return bad(`${where}/block_id must be less than 256 characters`);
      if (blockIds.has(blockId)) return bad(`${where}/block_id "${blockId}" already exists`);
      blockIds.add(blockId);
    }
    let p: string | undefined;
    switch (block.type) {
      case "section": {
        if (block.text === undefined && block.fields === undefined) {
          p = "section needs text or fields";
          break;
        }
        if (block.text !== undefined) p = textProblem(block.text, "text", 3000);
        if (!p && block.fields !== undefined) {
          if (!Array.isArray(block.fields)) p = "fields must be an array";
          else if (block.fields.length > 10)
            p = `fields: no more than 10 items allowed (got ${block.fields.length})`;
          else for (const [j, f] of block.fields.entries()) p ??= textProblem(f, `fields/${j}`, 2000);
        }
        if (!p && block.accessory !== undefined) p = elementProblem(block.accessory, "accessory");
        break;
      }
      case "header":
        p = textProblem(block.text, "text", 150, true);
        break;
      case "context":
        if (!Array.isArray(block.elements) || block.elements.length === 0)
          p = "elements must be a non-empty array";
        else if (block.elements.length > 10) p = `elements: no more than 10 items allowed`;
        break;
      case "actions":
        if (!Array.isArray(block.elements) || block.elements.length === 0)
          p = "elements must be a non-empty array";
        else if (block.elements.length > 25) p = `elements: no more than 25 items allowed`;
        else for (const [j, el] of block.elements.entries()) p ??= elementProblem(el, `elements/${j}`);
        break;
      case "divider":
      case "rich_text":
      case "image":
      case "input":
      case "file":
      case "video":
      case "markdown":
        break;
      default:
        p = `unsupported type: ${block.type}`;
    }
    if (p) return bad(`${where} ${p}`);
  }
  return undefined;
}

/** What chat.postMessage-like methods refuse before storing anything. */
function contentProblem(body: CallBody, requireSomething: boolean): SlackError | undefined {
  const bp = blockProblem(body.blocks);
  if (bp) return new SlackError(bp.error, { response_metadata: { messages: [`[ERROR] ${bp.message}`] } });
  if (body.attachments !== undefined && !Array.isArray(body.attachments))
    return new SlackError("invalid_attachments");
  const text = str(body.text);
  if (text !== undefined && text.length > 40_000) return new SlackError("msg_too_long");
  const hasBlocks = Array.isArray(body.blocks) && body.blocks.length > 0;
  const hasAttachments = Array.isArray(body.attachments) && body.attachments.length > 0;
  if (requireSomething && !text && !hasBlocks && !hasAttachments) return new SlackError("no_text");
  return undefined;
}

// ---------------------------------------------------------------- the server

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? "xoxb-fake-token";
  const teamId = options.teamId ?? "T0FAKE0001";
  const teamName = options.teamName ?? "Fake Workspace";
  const botUserId = options.botUserId ?? "U0FAKEBOT1";
  const botId = options.botId ?? "B0FAKEBOT1";
  const appId = options.appId ?? "A0FAKEAPP1";
  const scopes = new Set(options.scopes ?? DEFAULT_SCOPES);
  let userGroups: Map<string, string[]> | "unavailable" =
    options.userGroups === "unavailable" ? "unavailable" : new Map(Object.entries(options.userGroups ?? {}));
  const channels = options.channels ? new Map(options.channels.map((c) => [c.id, c])) : undefined;
  const users = options.users ? new Map(options.users.map((u) => [u.id, u])) : undefined;
  const latencyMs = options.latencyMs ?? 0;
  const maxUses = options.responseUrlMaxUses ?? 5;
  const ttlMs = options.responseUrlTtlMs ?? 30 * 60_000;
  const appToken = options.socketMode
    ? (options.socketMode.appToken ?? `xapp-fake-${appId.toLowerCase()}`)
    : undefined;

  const calls: FakeSlackCall[] = [];
  const messages: FakeMessage[] = [];
  const ephemerals: FakeEphemeral[] = [];
  const responsePosts: FakeResponsePost[] = [];
  const responseUrls = new Map<string, ResponseUrlContext & { uses: number; createdAt: number }>();
  let faults: { method: string; fault: Fault }[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  // Slack timestamps: "<unix seconds>.<6 digits>", strictly increasing.
  let tsSeconds = Math.floor(Date.now() / 1000);
  let tsCounter = 0;
  const nextTs = (): string => {
    tsCounter += 1;
    if (tsCounter > 999_999) {
      tsSeconds += 1;
      tsCounter = 1;
    }
    return `${tsSeconds}.${String(tsCounter).padStart(6, "0")}`;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closed) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const takeFault = (method: string): Fault | undefined => {
    const entry = faults.find((f) => f.method === method) ?? faults.find((f) => f.method === "*");
    if (!entry) return undefined;
    entry.fault.remaining -= 1;
    if (entry.fault.remaining <= 0) faults = faults.filter((f) => f !== entry);
    return entry.fault;
  };

  // ------------------------------------------------------------ lookups

  const findChannel = (idOrName: string | undefined): FakeChannel | undefined => {
    if (!idOrName) return undefined;
    if (channels) {
      const name = idOrName.replace(/^#/, "");
      return channels.get(idOrName) ?? [...channels.values()].find((c) => c.name === name);
    }
    if (/^[CG][A-Z0-9]{2,}$/.test(idOrName)) return { id: idOrName, name: idOrName.toLowerCase() };
    return undefined;
  };

  const findUser = (id: string | undefined): FakeUser | undefined => {
    if (!id) return undefined;
    if (users) return users.get(id);
    if (/^[UW][A-Z0-9]{2,}$/.test(id)) return { id, name: id.toLowerCase() };
    return undefined;
  };

  /** The channel a message goes to: a known channel the bot may post in, or a DM with a user. */
  const postTarget = (channelArg: string | undefined): string => {
    const user = channelArg && /^[UW]/.test(channelArg) ? findUser(channelArg) : undefined;
    if (user) return `D${user.id.slice(1)}`;
    if (channelArg && /^D[A-Z0-9]{2,}$/.test(channelArg)) return channelArg;
    const ch = findChannel(channelArg);
    if (!ch) throw new SlackError("channel_not_found");
    if (ch.isMember === false) {
      if (ch.isPrivate) throw new SlackError("channel_not_found");
      if (!scopes.has("chat:write.public")) throw new SlackError("not_in_channel");
    }
    return ch.id;
  };

  const findMessage = (channel: string, ts: string | undefined) =>
    messages.find((m) => m.channel === channel && m.ts === ts && !m.deleted);

  const postMessage = (
    channel: string,
    body: CallBody,
    author: { user: string; bot_id: string },
  ): FakeMessage => {
    const threadTs = str(body.thread_ts);
    const message: FakeMessage = {
      channel,
      ts: nextTs(),
      text: str(body.text) ?? "",
      blocks: Array.isArray(body.blocks) ? body.blocks : [],
      attachments: Array.isArray(body.attachments) ? body.attachments : [],
      user: author.user,
      bot_id: author.bot_id,
      updates: 0,
      deleted: false,
      reply_count: 0,
    };
    if (threadTs) {
      message.thread_ts = threadTs;
      const parent = findMessage(channel, threadTs);
      if (parent) parent.reply_count += 1;
    }
    messages.push(message);
    return message;
  };

  /** Slack's chat.update rule: text replaces; blocks/attachments replace only when sent ([] clears). */
  const applyUpdate = (message: FakeMessage, body: CallBody, editor: string) => {
    if (body.text !== undefined) message.text = str(body.text) ?? "";
    if (Array.isArray(body.blocks)) message.blocks = body.blocks;
    if (Array.isArray(body.attachments)) message.attachments = body.attachments;
    message.updates += 1;
    message.edited = { user: editor, ts: nextTs() };
  };

  const messageJson = (m: FakeMessage): Record<string, unknown> => ({
    type: "message",
    subtype: "bot_message",
    text: m.text,
    user: m.user,
    bot_id: m.bot_id,
    app_id: appId,
    team: teamId,
    ts: m.ts,
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(m.blocks.length ? { blocks: m.blocks } : {}),
    ...(m.attachments.length ? { attachments: m.attachments } : {}),
    ...(m.edited ? { edited: m.edited } : {}),
    ...(m.reply_count ? { reply_count: m.reply_count } : {}),
  });

  const userJson = (u: FakeUser): Record<string, unknown> => ({
    id: u.id,
    team_id: teamId,
    name: u.name,
    deleted: u.deleted ?? false,
    real_name: u.realName ?? u.name,
    tz: u.tz ?? "Europe/Amsterdam",
    is_bot: u.isBot ?? false,
    is_app_user: false,
    profile: { real_name: u.realName ?? u.name, display_name: u.name, team: teamId },
  });

  // ------------------------------------------------------------ methods

  const methods: Record<string, (body: CallBody) => Record<string, unknown>> = {
    "auth.test": () => ({
      url: "https://fake-workspace.slack.com/",
      team: teamName,
      user: "dbbackup",
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    "chat.postMessage": (body) => {
      const channel = postTarget(str(body.channel));
      const problem = contentProblem(body, true);
      if (problem) throw problem;
      const m = postMessage(channel, body, { user: botUserId, bot_id: botId });
      return { channel, ts: m.ts, message: messageJson(m) };
    },
    "chat.update": (body) => {
      const ch = str(body.channel);
      const channel = ch && /^D/.test(ch) ? ch : findChannel(ch)?.id;
      if (!channel) throw new SlackError("channel_not_found");
      const ts = str(body.ts);
      const m = findMessage(channel, ts);
      if (!m) throw new SlackError("message_not_found");
      if (m.user !== botUserId) throw new SlackError("cant_update_message");
      const problem = contentProblem(body, false);
      if (problem) throw problem;
      applyUpdate(m, body, botUserId);
      return { channel, ts: m.ts, text: m.text, message: messageJson(m) };
    },
    "chat.postEphemeral": (body) => {
      const channel = postTarget(str(body.channel));
      const userId = str(body.user);
      if (!userId || !findUser(userId)) throw new SlackError("user_not_found");
      const known = channels?.get(channel);
      if (known?.members && !known.members.includes(userId)) throw new SlackError("user_not_in_channel");
      const problem = contentProblem(body, true);
      if (problem) throw problem;
      const message_ts = nextTs();
      ephemerals.push({
        channel,
        user: userId,
        message_ts,
        ...(str(body.thread_ts) ? { thread_ts: str(body.thread_ts) } : {}),
        text: str(body.text) ?? "",
        blocks: Array.isArray(body.blocks) ? body.blocks : [],
        via: "chat.postEphemeral",
      });
      return { message_ts };
    },
    "chat.delete": (body) => {
      const channel = findChannel(str(body.channel))?.id ?? str(body.channel);
      const m = channel ? findMessage(channel, str(body.ts)) : undefined;
      if (!m)
        throw new SlackError(channel && findChannel(channel) ? "message_not_found" : "channel_not_found");
      if (m.user !== botUserId) throw new SlackError("cant_delete_message");
      m.deleted = true;
      return { channel: m.channel, ts: m.ts };
    },
    "usergroups.users.list": (body) => {
      if (userGroups === "unavailable") throw new SlackError("plan_upgrade_required");
      const id = str(body.usergroup);
      if (!id)
        throw new SlackError("invalid_arguments", {
          response_metadata: { messages: ["[ERROR] missing required field: usergroup"] },
        });
      const members = userGroups.get(id);
      if (!members) throw new SlackError("no_such_subteam");
      return { users: [...members] };
    },
    "usergroups.list": (body) => {
      if (userGroups === "unavailable") throw new SlackError("plan_upgrade_required");
      const withUsers = body.include_users === "true" || body.include_users === true;
      return {
        usergroups: [...userGroups].map(([id, members]) => ({
          id,
          team_id: teamId,
          is_usergroup: true,
          name: id,
          handle: id.toLowerCase(),
          user_count: members.length,
          ...(withUsers ? { users: [...members] } : {}),
        })),
      };
    },
    "users.info": (body) => {
      const u = findUser(str(body.user));
      if (!u) throw new SlackError("user_not_found");
      return { user: userJson(u) };
    },
    "conversations.info": (body) => {
      const ch = findChannel(str(body.channel));
      if (!ch) throw new SlackError("channel_not_found");
      return {
        channel: {
          id: ch.id,
          name: ch.name,
          is_channel: !ch.isPrivate,
          is_group: false,
          is_im: false,
          is_private: ch.isPrivate ?? false,
          is_archived: false,
          is_member: ch.isMember ?? true,
          context_team_id: teamId,
        },
      };
    },
  };

  const answerApi = async (
    method: string,
    body: CallBody,
    callToken: string | undefined,
  ): Promise<Answer> => {
    const scopeHeaders = (needed: string[]): Record<string, string> => ({
      "x-oauth-scopes": [...scopes].join(","),
      "x-accepted-oauth-scopes": needed.join(","),
    });
    if (latencyMs > 0) await sleep(latencyMs);
    let fault = takeFault(method);
    while (fault?.kind === "delay") {
      await sleep(fault.ms);
      fault = takeFault(method);
    }
    if (fault?.kind === "ratelimit") {
      return {
        status: 429,
        body: { ok: false, error: "ratelimited" },
        headers: { "retry-after": String(fault.retryAfter) },
      };
    }
    if (fault?.kind === "http") {
      return { status: fault.status, body: {}, rawBody: `fake slack: injected HTTP ${fault.status}` };
    }
    if (fault?.kind === "error")
      return { status: 200, body: { ok: false, error: fault.error, ...fault.extra } };

    if (method === "apps.connections.open" && options.socketMode) {
      if (!callToken) return { status: 200, body: { ok: false, error: "not_authed" } };
      if (callToken === token) return { status: 200, body: { ok: false, error: "not_allowed_token_type" } };
      if (callToken !== appToken) return { status: 200, body: { ok: false, error: "invalid_auth" } };
      return { status: 200, body: { ok: true, url: options.socketMode.url() } };
    }
    const handler = methods[method];
    if (!handler) return { status: 200, body: { ok: false, error: "unknown_method", req_method: method } };
    if (!callToken) return { status: 200, body: { ok: false, error: "not_authed" } };
    if (appToken !== undefined && callToken === appToken)
      return { status: 200, body: { ok: false, error: "not_allowed_token_type" } };
    if (callToken !== token) return { status: 200, body: { ok: false, error: "invalid_auth" } };
    const needed = METHOD_SCOPES[method] ?? [];
    if (needed.length > 0 && !needed.some((s) => scopes.has(s))) {
      return {
        status: 200,
        body: {
          ok: false,
          error: "missing_scope",
          needed: needed.join(","),
          provided: [...scopes].join(","),
        },
        headers: scopeHeaders(needed),
      };
    }
    try {
      return { status: 200, body: { ok: true, ...handler(body) }, headers: scopeHeaders(needed) };
    } catch (e) {
      if (e instanceof SlackError) {
        return {
          status: 200,
          body: { ok: false, error: e.error, ...e.extra },
          headers: scopeHeaders(needed),
        };
      }
      throw e;
    }
  };

  // ------------------------------------------------------------ response_url

  const answerResponseUrl = (
    id: string,
    body: Record<string, unknown>,
  ): { status: number; outcome: string } => {
    const ctx = responseUrls.get(id);
    if (!ctx) return { status: 404, outcome: "no_service" };
    if (Date.now() - ctx.createdAt > ttlMs) return { status: 404, outcome: "expired_url" };
    if (ctx.uses >= maxUses) return { status: 404, outcome: "used_url" };
    ctx.uses += 1;
    const content = decodeJsonFields(body);
    const original = ctx.messageTs ? findMessage(ctx.channel, ctx.messageTs) : undefined;
    if (content.delete_original === true || content.delete_original === "true") {
      if (!original) return { status: 404, outcome: "message_not_found" };
      original.deleted = true;
      return { status: 200, outcome: "ok" };
    }
    const problem = contentProblem(content, true);
    if (problem) return { status: 400, outcome: problem.error };
    if (content.replace_original === true || content.replace_original === "true") {
      if (!original) return { status: 404, outcome: "message_not_found" };
      // replace_original replaces the whole message, blocks included (unlike chat.update).
      original.text = str(content.text) ?? "";
      original.blocks = Array.isArray(content.blocks) ? content.blocks : [];
      original.attachments = Array.isArray(content.attachments) ? content.attachments : [];
      original.updates += 1;
      original.edited = { user: ctx.user, ts: nextTs() };
      return { status: 200, outcome: "ok" };
    }
    if (content.response_type === "in_channel") {
      postMessage(ctx.channel, content, { user: botUserId, bot_id: botId });
      return { status: 200, outcome: "ok" };
    }
    ephemerals.push({
      channel: ctx.channel,
      user: ctx.user,
      message_ts: nextTs(),
      ...(str(content.thread_ts) ? { thread_ts: str(content.thread_ts) } : {}),
      text: str(content.text) ?? "",
      blocks: Array.isArray(content.blocks) ? content.blocks : [],
      via: "response_url",
    });
    return { status: 200, outcome: "ok" };
  };

  // ------------------------------------------------------------ HTTP

  const send = (res: http.ServerResponse, answer: Answer) => {
    if (res.destroyed) return;
    const payload = answer.rawBody ?? JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      "content-type": answer.rawBody !== undefined ? "text/plain" : "application/json; charset=utf-8",
      ...answer.headers,
    });
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const at = Date.now();
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const raw = await readBody(req);
      const contentType = req.headers["content-type"] ?? "";
      const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
      if (apiMatch?.[1] && (req.method === "POST" || req.method === "GET")) {
        const method = apiMatch[1];
        const parsed = await parseArgs(raw, contentType, url.searchParams);
        const args = "args" in parsed ? parsed.args : {};
        const body = decodeJsonFields(args);
        const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
        const callToken = bearer ?? str(args.token);
        const answer: Answer =
          "error" in parsed
            ? { status: 200, body: { ok: false, error: parsed.error } }
            : await answerApi(method, body, callToken);
        calls.push({
          method,
          body,
          token: callToken,
          contentType,
          at,
          status: answer.status,
          response: answer.body,
        });
        send(res, answer);
        events.emit("call");
        return;
      }
      const responseMatch = /^\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
      if (responseMatch?.[1] && req.method === "POST") {
        const id = responseMatch[1];
        let body: Record<string, unknown> = {};
        let result: { status: number; outcome: string };
        try {
          const parsed: unknown = JSON.parse(raw.toString("utf8"));
          if (!isRecord(parsed)) throw new Error("not an object");
          body = parsed;
          result = answerResponseUrl(id, body);
        } catch {
          result = { status: 400, outcome: "invalid_payload" };
        }
        responsePosts.push({
          id,
          url: `${baseUrl}${url.pathname}`,
          body,
          at,
          status: result.status,
          outcome: result.outcome,
        });
        send(
          res,
          result.status === 200
            ? { status: 200, body: { ok: true } }
            : { status: result.status, body: {}, rawBody: result.outcome },
        );
        events.emit("response");
        return;
      }
      send(res, { status: 404, body: {}, rawBody: "not found" });
    })().catch((error: unknown) => answerFakeError(res, "fake slack", error));
  });

  const port = await listenLocal(server);
  const baseUrl = `http://127.0.0.1:${port}`;
  let responseUrlCounter = 0;

  function waitFor<T>(
    event: string,
    find: () => T | undefined,
    timeoutMs: number,
    describe: () => string,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const found = find();
      if (found !== undefined) return resolve(found);
      if (closed) return reject(new Error(`fake slack is closed; ${describe()}`));
      const check = () => {
        const hit = find();
        if (hit === undefined) return;
        cleanup();
        resolve(hit);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`fake slack closed while ${describe()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms ${describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off(event, check);
        events.off("close", onClose);
      };
      events.on(event, check);
      events.on("close", onClose);
    });
  }

  const addFault = (method: string, fault: Fault) => {
    faults.push({ method, fault });
  };

  return {
    url: `${baseUrl}/api/`,
    baseUrl,
    token,
    appToken,
    teamId,
    botUserId,
    botId,
    appId,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    waitForCall: (method, predicate = () => true, timeoutMs = 5_000) =>
      waitFor(
        "call",
        () => calls.find((c) => c.method === method && predicate(c)),
        timeoutMs,
        () =>
          `waiting for a matching ${method} call; calls so far: ${
            calls
              .map((c) => `${c.method}${c.response.ok === false ? `(${String(c.response.error)})` : ""}`)
              .join(", ") || "none"
          }`,
      ),
    messages,
    message: (channel, ts) => messages.find((m) => m.channel === channel && m.ts === ts),
    replies: (channel, threadTs) =>
      messages.filter((m) => m.channel === channel && m.thread_ts === threadTs && !m.deleted),
    messagePayload: (channel, ts) => {
      const m = findMessage(channel, ts);
      return m ? messageJson(m) : undefined;
    },
    ephemerals,
    responseUrl: (context) => {
      responseUrlCounter += 1;
      const id = `R${responseUrlCounter}-${Math.random().toString(36).slice(2, 10)}`;
      responseUrls.set(id, { ...context, uses: 0, createdAt: Date.now() });
      return `${baseUrl}/response/${id}`;
    },
    responsePosts,
    waitForResponsePost: (predicate = () => true, timeoutMs = 5_000) =>
      waitFor(
        "response",
        () => responsePosts.find(predicate),
        timeoutMs,
        () => `waiting for a matching response_url post; posts so far: ${responsePosts.length}`,
      ),
    failNext: (method, error, opts = {}) =>
      addFault(method, { kind: "error", error, extra: opts.extra ?? {}, remaining: opts.times ?? 1 }),
    rateLimitNext: (method, retryAfterSeconds = 1, opts = {}) =>
      addFault(method, { kind: "ratelimit", retryAfter: retryAfterSeconds, remaining: opts.times ?? 1 }),
    httpErrorNext: (method, status, opts = {}) =>
      addFault(method, { kind: "http", status, remaining: opts.times ?? 1 }),
    delayNext: (method, ms, opts = {}) => addFault(method, { kind: "delay", ms, remaining: opts.times ?? 1 }),
    clearFaults: () => {
      faults = [];
    },
    setUserGroup: (id, members) => {
      if (userGroups === "unavailable") userGroups = new Map();
      userGroups.set(id, [...members]);
    },
    reset: () => {
      calls.length = 0;
      messages.length = 0;
      ephemerals.length = 0;
      responsePosts.length = 0;
      faults = [];
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      events.emit("close");
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/**
 * The text a user reads in a message or ephemeral: every text object in its blocks (buttons included,
 * confirm dialogs not), or `text` when there are no blocks.
 */
export function visibleText(message: { text?: unknown; blocks?: unknown }): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (!isRecord(node)) return;
    if (
      (node.type === "plain_text" || node.type === "mrkdwn" || node.type === "text") &&
      typeof node.text === "string"
    ) {
      parts.push(node.text);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "confirm" || key === "action_id" || key === "block_id" || key === "value") continue;
      walk(value);
    }
  };
  // With blocks, Slack shows the blocks; `text` is then only the notification/accessibility fallback.
  const blocks = Array.isArray(message.blocks) ? message.blocks : [];
  if (blocks.length > 0) walk(blocks);
  else if (typeof message.text === "string") parts.push(message.text);
  return parts.join("\n");
}
