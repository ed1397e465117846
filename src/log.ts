import pino, { type Logger } from "pino";
import { redactText } from "./redact.js";

const SLACK_TOKEN = /\b(xox[abprs]|xapp)-[A-Za-z0-9-]+/g;

/** Any text bound for a log: URL passwords and Slack tokens masked. */
export function scrub(text: string): string {
  return redactText(text).replace(SLACK_TOKEN, "$1-****");
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (value instanceof Error)
    return { type: value.name, message: scrub(value.message), stack: scrub(value.stack ?? "") };
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, depth + 1)]));
}

/** pino, JSON lines on stderr, with every logged value scrubbed and the usual secret fields dropped. */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ["token", "password", "*.token", "*.password", "headers.authorization"],
        censor: "****",
      },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((a) => scrubValue(a)) as Parameters<typeof method>;
          method.apply(this, cleaned);
        },
      },
    },
    pino.destination(2),
  );
}
