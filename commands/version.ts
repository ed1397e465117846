import { z } from "zod/v3";
import { TOOL_VERSION } from "../src/version.js";
import { defineVerb } from "./kit/verb.js";

export const verb = defineVerb({
  name: "version",
  order: 1001,
  needsNoConfig: true,
  summary: "dbbackup's version.",
  usage: { terminal: "dbbackup --version" },
  args: z.undefined(),
  fromWords: () => undefined,
  run: async () => ({ ok: true as const, version: TOOL_VERSION }),
  terminal: { render: (r) => `dbbackup ${r.version}\n` },
  slack: { mode: "answer", inAck: true, render: (r) => ({ text: `dbbackup ${r.version}`, blocks: [] }) },
});
