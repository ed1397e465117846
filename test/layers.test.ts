import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Imports run one way: front ends (src/cli, src/slack, src/schedule) → commands → the engine
 * (src/backup, src/restore, src/state, src/guardrails, src/offsite, src/demo) → the base (config, errors,
 * format, log, version). A folder never imports one above it, and front ends don't import each
 * other, except the bot (src/slack), which runs the schedule.
 */
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const LEVEL: Record<string, number> = {
  base: 0,
  "src/backup": 1,
  "src/restore": 1,
  "src/state": 1,
  "src/guardrails": 1,
  "src/offsite": 1,
  "src/demo": 1,
  commands: 2,
  "src/cli": 3,
  "src/slack": 3,
  "src/schedule": 3,
};
const SIDEWAYS = new Set(["src/slack→src/schedule"]);

function layerOf(file: string): string {
  const rel = path.relative(repo, file).split(path.sep).join("/");
  if (rel.startsWith("commands/")) return "commands";
  const [top, folder] = rel.split("/");
  if (top === "src" && folder && !folder.endsWith(".ts")) return `src/${folder}`;
  if (top === "src") return "base";
  throw new Error(`${rel} is in no layer: add its folder to LEVEL`);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map(
    (m) => m[1] ?? "",
  );
  return specs.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, ".ts")));
}

describe("layers", () => {
  const files = [...sources(path.join(repo, "src")), ...sources(path.join(repo, "commands"))];

  it("every import runs down (or within a folder), never up or across front ends", () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (from === to) continue;
        const down = (LEVEL[to] ?? 99) < (LEVEL[from] ?? -1);
        const sameLevel = LEVEL[to] === LEVEL[from];
        const allowed = down || (sameLevel && (LEVEL[from] ?? 0) < 3) || SIDEWAYS.has(`${from}→${to}`);
        if (!allowed) wrong.push(`${path.relative(repo, file)} → ${path.relative(repo, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("knows every folder (a new one must be placed in a layer)", () => {
    for (const file of files) expect(LEVEL[layerOf(file)], file).toBeDefined();
  });
});

/** What a module loads as it is loaded: static value imports (not `import type`, not `import()`). */
function loadedWith(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+["']([^"']+)["']/gms)].map((m) => m[1] ?? "");
}

describe("start-up", () => {
  it("every command loads the verbs, so no verb loads pg, execa or node-cron until it runs", () => {
    const seen = new Map<string, string>();
    const heavy: string[] = [];
    const visit = (file: string, via: string) => {
      if (seen.has(file)) return;
      seen.set(file, via);
      for (const spec of loadedWith(file)) {
        if (spec.startsWith("."))
          visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")), path.relative(repo, file));
        else if (/^(pg|execa|node-cron)$/.test(spec)) heavy.push(`${spec} ← ${path.relative(repo, file)}`);
      }
    };
    const commands = path.join(repo, "commands");
    for (const name of readdirSync(commands).filter((f) => f.endsWith(".ts")))
      visit(path.join(commands, name), "registry");
    visit(path.join(repo, "src", "cli", "main.ts"), "bin");
    expect(heavy).toEqual([]);
  });
});
