import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod/v3";

/** Every restore test, one JSON line each: who ran it, when, on which backup, how it went. */
export const drillSchema = z.object({
  at: z.string(),
  by: z.string(),
  backupId: z.string(),
  env: z.string(),
  ok: z.boolean(),
  ms: z.number(),
  serverMajor: z.number(),
  summary: z.string(),
});
export type Drill = z.infer<typeof drillSchema>;

export function drillLogPath(root: string): string {
  return path.join(root, ".state", "drills.jsonl");
}

/** One O_APPEND write of one line: concurrent drills never interleave within a line. */
export function appendDrill(root: string, drill: Drill): void {
  const file = drillLogPath(root);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(drillSchema.parse(drill))}\n`);
}

/** Oldest first; a damaged line is skipped, never fatal. */
export function readDrills(root: string): Drill[] {
  let text: string;
  try {
    text = readFileSync(drillLogPath(root), "utf8");
  } catch {
    return [];
  }
  const drills: Drill[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed = drillSchema.safeParse(JSON.parse(line));
      if (parsed.success) drills.push(parsed.data);
    } catch {
      // a torn or edited line
    }
  }
  return drills;
}
