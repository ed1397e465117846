/**
 * A fake Slack Socket Mode endpoint on 127.0.0.1 for tests: a small RFC 6455 WebSocket server (node:http
 * upgrade, no library: @slack/socket-mode 3 connects with undici's WebSocket and `ws` isn't installed) that
 * speaks the Socket Mode protocol the way Slack does, as far as @slack/socket-mode's SocketModeClient uses it:
 *
 * - `connectionUrl()` mints a one-use `ws://127.0.0.1:PORT/link/?ticket=…&app_id=…` — what
 *   apps.connections.open hands out; wire it into the fake Web API with
 *   `startFakeSlack({ socketMode: { url: () => socket.connectionUrl() } })`. Unknown or used tickets → HTTP 401.
 * - On connect the server sends `{type:"hello", num_connections, debug_info, connection_info}`.
 * - `send()` / `slashCommand()` push envelopes `{envelope_id, type, payload, accepts_response_payload}` to the
 *   newest open connection; every text frame carrying an `envelope_id` back is recorded as an ack
 *   (`{envelope_id, payload?}`), with the time since its envelope went out.
 * - `disconnect(reason)` sends Slack's `{type:"disconnect", reason}`; pings are answered with pongs; a close
 *   frame is answered with a close frame (the close handshake), then the TCP connection is ended.
 */
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { listenLocal } from "./local-http.js";
import { type SlashCommandFields, slashCommandBody } from "./slack-requests.js";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export type EnvelopeType = "slash_commands" | "interactive" | "events_api";

export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface FakeSocketAck {
  envelopeId: string;
  /** What the client put in `payload` (Bolt sends `{}` for a bare ack()). */
  payload: Record<string, unknown> | undefined;
  connectionId: number;
  /** Date.now() when the ack arrived. */
  at: number;
  /** From sending the envelope to receiving its ack (NaN if the envelope wasn't sent by this server). */
  elapsedMs: number;
}

export interface FakeSocketConnection {
  readonly id: number;
  /** The ticket URL the client connected with. */
  readonly url: string;
  /** True from the upgrade until the TCP connection ends. */
  readonly open: boolean;
  /** Close code from the client's close frame (1000 = normal closure), if it sent one. */
  readonly clientCloseCode: number | undefined;
  /** Who sent the first close frame, if anyone did. */
  readonly closeStartedBy: "client" | "server" | undefined;
  /** Both sides sent a close frame before the TCP connection ended. */
  readonly closedCleanly: boolean;
  /** Every text frame from the client, JSON-decoded when it parses (else the raw string). */
  readonly received: readonly unknown[];
  readonly pingsReceived: number;
}

export interface FakeSocketModeOptions {
  appId?: string;
  /** Wait this long for the client's close frame after a server-initiated close, then drop the TCP connection. */
  closeTimeoutMs?: number;
}

export interface FakeSocketMode {
  /** ws://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** A fresh one-use connection URL, as apps.connections.open returns it. */
  connectionUrl(): string;
  readonly connections: readonly FakeSocketConnection[];
  /** Resolves with the first connection (already made or future) that got its hello; rejects after timeoutMs. */
  waitForConnection(timeoutMs?: number): Promise<FakeSocketConnection>;
  /** Sends an envelope to the newest open connection and returns its envelope_id; throws if none is open. */
  send(
    type: EnvelopeType,
    payload: Record<string, unknown>,
    options?: { acceptsResponsePayload?: boolean; envelopeId?: string },
  ): string;
  /** A slash command envelope (payload fields as Slack sends them, defaults from slashCommandBody). */
  slashCommand(fields: SlashCommandFields): string;
  /** Sends Slack's disconnect message (default reason "refresh_requested") to every open connection. */
  disconnect(reason?: "warning" | "refresh_requested" | "link_disabled"): void;
  readonly acks: readonly FakeSocketAck[];
  /** Resolves with the ack of `envelopeId` (already received or future); rejects after timeoutMs. */
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<FakeSocketAck>;
  /** Resolves once no connection is open (TCP ended); rejects after timeoutMs. */
  waitForAllClosed(timeoutMs?: number): Promise<void>;
  /** Closes every connection (close frame, then a bounded wait) and the server. */
  close(): Promise<void>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** One unmasked server frame (servers never mask). */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  let header: Buffer;
  if (len < 126) {
    header = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65_536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]);
}

interface ParsedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Takes one complete client frame off the front of `buf`; undefined if incomplete; "unmasked" is a protocol error. */
function parseFrame(buf: Buffer): { frame: ParsedFrame; rest: Buffer } | "unmasked" | undefined {
  if (buf.length < 2) return undefined;
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  if ((b1 & 0x80) === 0) return "unmasked";
  let len = b1 & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + 4 + len) return undefined;
  const mask = buf.subarray(offset, offset + 4);
  const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return {
    frame: { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload },
    rest: buf.subarray(offset + 4 + len),
  };
}

class Connection implements FakeSocketConnection {
  open = true;
  clientCloseCode: number | undefined;
  closeStartedBy: "client" | "server" | undefined;
  closedCleanly = false;
  received: unknown[] = [];
  pingsReceived = 0;
  helloSent = false;
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private serverCloseSent = false;
  private clientCloseReceived = false;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly url: string,
    private readonly socket: Duplex,
    private readonly closeTimeoutMs: number,
    private readonly onText: (c: Connection, text: string) => void,
    private readonly onEnd: (c: Connection) => void,
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => socket.destroy());
    // The peer went away without a close frame (upgraded sockets are half-open capable): finish the TCP close.
    socket.on("end", () => socket.end());
    socket.on("close", () => {
      clearTimeout(this.closeTimer);
      this.open = false;
      this.closedCleanly = this.serverCloseSent && this.clientCloseReceived;
      this.onEnd(this);
    });
  }

  sendText(text: string) {
    if (!this.open || this.serverCloseSent) throw new Error(`connection ${this.id} is closed`);
    this.socket.write(frame(OP.text, Buffer.from(text, "utf8")));
  }

  /** Starts the close handshake from the server side; drops the TCP connection if the client doesn't answer. */
  close(code = 1000, reason = "") {
    if (!this.open) return;
    this.sendClose(code, reason);
    this.closeStartedBy ??= "server";
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.closeTimeoutMs);
  }

  destroy() {
    this.socket.destroy();
  }

  private sendClose(code: number, reason: string) {
    if (this.serverCloseSent) return;
    this.serverCloseSent = true;
    const reasonBytes = Buffer.from(reason, "utf8");
    const body = Buffer.alloc(2 + reasonBytes.length);
    body.writeUInt16BE(code, 0);
    reasonBytes.copy(body, 2);
    this.socket.write(frame(OP.close, body));
  }

  private onData(chunk: Buffer) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parseFrame(this.buffer);
      if (parsed === undefined) return;
      if (parsed === "unmasked") {
        // RFC 6455 5.1: a server must close on an unmasked client frame (1002 protocol error).
        this.sendClose(1002, "client frames must be masked");
        this.socket.end();
        this.buffer = Buffer.alloc(0);
        return;
      }
      this.buffer = parsed.rest;
      this.onFrame(parsed.frame);
    }
  }

  private onFrame({ fin, opcode, payload }: ParsedFrame) {
    switch (opcode) {
      case OP.ping:
        this.pingsReceived += 1;
        if (!this.serverCloseSent) this.socket.write(frame(OP.pong, payload));
        return;
      case OP.pong:
        return;
      case OP.close: {
        this.clientCloseReceived = true;
        this.clientCloseCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeStartedBy ??= "client";
        // Echo the close (the handshake), then the server ends the TCP connection (RFC 6455 7.1.1).
        this.sendClose(this.clientCloseCode === 1005 ? 1000 : this.clientCloseCode, "");
        this.socket.end();
        return;
      }
      case OP.text:
      case OP.binary:
      case OP.continuation: {
        if (opcode !== OP.continuation) {
          this.fragments = [];
          this.fragmentOpcode = opcode;
        }
        this.fragments.push(payload);
        if (!fin) return;
        const data = Buffer.concat(this.fragments);
        this.fragments = [];
        if (this.fragmentOpcode === OP.text) this.onText(this, data.toString("utf8"));
        return;
      }
      default:
        this.sendClose(1002, "unknown opcode");
        this.socket.end();
    }
  }
}

export async function startFakeSocketMode(options: FakeSocketModeOptions = {}): Promise<FakeSocketMode> {
  const appId = options.appId ?? "A0FAKEAPP1";
  const closeTimeoutMs = options.closeTimeoutMs ?? 1_000;
  const tickets = new Set<string>();
  const connections: Connection[] = [];
  const acks: FakeSocketAck[] = [];
  const sentAt = new Map<string, number>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let envelopeCounter = 0;
  let closed = false;

  const onText = (c: Connection, text: string) => {
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // kept as the raw string
    }
    c.received.push(message);
    if (isRecord(message) && typeof message.envelope_id === "string") {
      const at = Date.now();
      const sent = sentAt.get(message.envelope_id);
      acks.push({
        envelopeId: message.envelope_id,
        payload: isRecord(message.payload) ? message.payload : undefined,
        connectionId: c.id,
        at,
        elapsedMs: sent === undefined ? Number.NaN : at - sent,
      });
      events.emit("ack");
    }
  };

  const server = http.createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" });
    res.end("this is a WebSocket endpoint");
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const key = req.headers["sec-websocket-key"];
    if (
      closed ||
      req.method !== "GET" ||
      (req.headers.upgrade ?? "").toLowerCase() !== "websocket" ||
      req.headers["sec-websocket-version"] !== "13" ||
      typeof key !== "string"
    ) {
      return reject(400, "Bad Request");
    }
    const ticket = url.pathname === "/link/" ? url.searchParams.get("ticket") : null;
    if (!ticket || !tickets.delete(ticket)) return reject(401, "Unauthorized");
    const accept = createHash("sha1").update(`${key}${WS_GUID}`).digest("base64");
    // No Sec-WebSocket-Extensions in the answer: permessage-deflate is declined, frames stay uncompressed.
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    (socket as Socket).setNoDelay?.(true);
    const connection = new Connection(
      connections.length + 1,
      `ws://127.0.0.1:${port}${req.url ?? "/"}`,
      socket,
      closeTimeoutMs,
      onText,
      () => events.emit("closed"),
    );
    connections.push(connection);
    if (head.length > 0) socket.emit("data", head);
    const open = connections.filter((c) => c.open).length;
    connection.sendText(
      JSON.stringify({
        type: "hello",
        num_connections: open,
        debug_info: { host: "applink-fake-1", build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: appId },
      }),
    );
    connection.helloSent = true;
    events.emit("connection");
  });

  const port = await listenLocal(server);
  const baseUrl = `ws://127.0.0.1:${port}`;

  function waitFor<T>(
    event: string,
    find: () => T | undefined,
    timeoutMs: number,
    what: () => string,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const hit = find();
      if (hit !== undefined) return resolve(hit);
      const check = () => {
        const found = find();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake socket mode: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        events.off(event, check);
      };
      events.on(event, check);
    });
  }

  const send: FakeSocketMode["send"] = (type, payload, opts = {}) => {
    const target = connections.filter((c) => c.open).at(-1);
    if (!target) throw new Error("fake socket mode: no open connection to send an envelope to");
    envelopeCounter += 1;
    const envelopeId = opts.envelopeId ?? `${randomBytes(4).toString("hex")}-env-${envelopeCounter}`;
    const envelope: SocketEnvelope = {
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload: opts.acceptsResponsePayload ?? type !== "events_api",
      ...(type === "events_api" ? { retry_attempt: 0, retry_reason: "" } : {}),
    };
    sentAt.set(envelopeId, Date.now());
    target.sendText(JSON.stringify(envelope));
    return envelopeId;
  };

  return {
    baseUrl,
    connectionUrl: () => {
      const ticket = randomBytes(12).toString("hex");
      tickets.add(ticket);
      return `${baseUrl}/link/?ticket=${ticket}&app_id=${appId}`;
    },
    connections,
    waitForConnection: (timeoutMs = 5_000) =>
      waitFor(
        "connection",
        () => connections.find((c) => c.helloSent),
        timeoutMs,
        () => "a connection",
      ),
    send,
    slashCommand: (fields) =>
      send("slash_commands", Object.fromEntries(new URLSearchParams(slashCommandBody(fields)))),
    disconnect: (reason = "refresh_requested") => {
      for (const c of connections) {
        if (c.open)
          c.sendText(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "applink-fake-1" } }));
      }
    },
    acks,
    waitForAck: (envelopeId, timeoutMs = 5_000) =>
      waitFor(
        "ack",
        () => acks.find((a) => a.envelopeId === envelopeId),
        timeoutMs,
        () =>
          `the ack of envelope ${envelopeId} (acks so far: ${acks.map((a) => a.envelopeId).join(", ") || "none"})`,
      ),
    waitForAllClosed: (timeoutMs = 5_000) =>
      waitFor(
        "closed",
        () => (connections.every((c) => !c.open) ? true : undefined),
        timeoutMs,
        () => "every connection to close",
      ).then(() => undefined),
    close: async () => {
      if (closed) return;
      closed = true;
      tickets.clear();
      for (const c of connections) c.close(1001, "going away");
      const allClosed = connections.every((c) => !c.open)
        ? Promise.resolve()
        : waitFor(
            "closed",
            () => (connections.every((c) => !c.open) ? true : undefined),
            closeTimeoutMs + 500,
            () => "",
          )
            .then(() => undefined)
            .catch(() => {
              for (const c of connections) c.destroy();
            });
      await allClosed;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
