#!/usr/bin/env node
// `npm start`: the Slack bot, from the compiled dist/ (built by `npm ci`).
import { existsSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

module.enableCompileCache?.();

const entry = new URL("../dist/src/slack/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    "dbbackup is not built yet.\n  → Run `npm ci` (or `npm run build`) in the dbbackup folder.\n",
  );
  process.exit(2);
}
const { main } = await import(entry.href);
process.exit(await main());
