import { z } from "zod/v3";
import { listBackups } from "../src/backup/catalog.js";
import { envNameSchema } from "../src/config.js";
import { stateFor } from "../src/state/open.js";
import type { CommandContext } from "./kit/context.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, optionValue, shown, usage } from "./kit/words.js";

/** `check prod --require pre-upgrade --max-age 24h`: a CI gate, answered from manifests only. */
export const checkArgs = z.object({
  env: envNameSchema,
  /** A label the backup must carry, e.g. pre-upgrade. */
  require: z.string().min(1).max(40).optional(),
  maxAgeMs: z.number().int().positive().optional(),
});
export type CheckArgs = z.input<typeof checkArgs>;

export interface CheckResult {
  ok: boolean;
  env: string;
  require: string | null;
  maxAgeMs: number | null;
  /** The backup that satisfies the check, or the newest candidate that didn't. */
  backup: {
    id: string;
    label: string | null;
    finishedAt: string;
    ageMs: number;
    stage: string | null;
  } | null;
  /** One line, for a CI log. */
  reason: string;
}

function age(ms: number): string {
  const h = ms / 3_600_000;
  return h < 1
    ? `${Math.max(1, Math.round(ms / 60_000))}m`
    : h < 48
      ? `${Math.round(h)}h`
      : `${Math.round(h / 24)}d`;
}

async function run(ctx: CommandContext, input: CheckArgs, now = new Date()): Promise<CheckResult> {
  const args = checkArgs.parse(input);
  const { backups } = await listBackups(ctx.config.backupsDir, stateFor(ctx.config), args.env);
  const verified = backups.filter((b) => b.stage === "readable" || b.stage === "restored");
  const labelled = args.require ? verified.filter((b) => b.label === args.require) : verified;
  const newest = [...labelled].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  const what = `${args.env} backup${args.require ? ` labelled ${args.require}` : ""}`;
  const within = args.maxAgeMs ? ` in the last ${age(args.maxAgeMs)}` : "";
  const base = { env: args.env, require: args.require ?? null, maxAgeMs: args.maxAgeMs ?? null };
  if (!newest) {
    return { ...base, ok: false, backup: null, reason: `missing: no verified ${what} at all` };
  }
  const ageMs = now.getTime() - new Date(newest.finishedAt).getTime();
  const backup = {
    id: newest.id,
    label: newest.label,
    finishedAt: newest.finishedAt,
    ageMs,
    stage: newest.stage,
  };
  if (args.maxAgeMs !== undefined && ageMs > args.maxAgeMs) {
    return {
      ...base,
      ok: false,
      backup,
      reason: `missing: no verified ${what}${within} (newest: ${newest.id}, ${age(ageMs)} old)`,
    };
  }
  return { ...base, ok: true, backup, reason: `ok: ${newest.id} is a verified ${what}, ${age(ageMs)} old` };
}

export const verb = defineVerb({
  name: "check",
  order: 70,
  summary:
    "For CI: exit 0 if a verified backup (with that label, that recent) exists, else 1, with one line why.",
  usage: { terminal: "dbbackup check ENV [--require LABEL] [--max-age 24h] [--json]" },
  options: { require: { value: "LABEL" }, "max-age": { value: "24h" } },
  args: checkArgs,
  fromWords(words) {
    const [env, ...extra] = words.positionals;
    if (!env || extra.length > 0)
      throw usage("check takes one environment: dbbackup check prod --require pre-upgrade --max-age 24h");
    const args: CheckArgs = { env: knownEnv(env, words.envs) };
    const require = optionValue(words, "require");
    if (require !== undefined) args.require = require;
    const maxAge = optionValue(words, "max-age");
    if (maxAge !== undefined) {
      const m = /^(\d+)(m|h|d)$/.exec(maxAge);
      if (!m?.[1]) throw usage(`--max-age takes a duration like 90m, 24h or 7d, not ${shown(maxAge)}.`);
      args.maxAgeMs =
        Number(m[1]) * ({ m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[m[2] as "m" | "h" | "d"];
    }
    return args;
  },
  run: (ctx, args) => run(ctx, args, ctx.now?.() ?? new Date()),
  terminal: { render: (r) => `${r.reason}\n`, exitCode: (r) => (r.ok ? 0 : 1) },
});
