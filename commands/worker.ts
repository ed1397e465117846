import { z } from "zod/v3";
import { envNameSchema } from "../src/config.js";
import { defineVerb } from "./kit/verb.js";
import { knownEnv, usage } from "./kit/words.js";
import { runWorker, type WorkerSummary } from "./kit/worker-loop.js";

const workerArgs = z.object({
  envs: z.array(envNameSchema).nullable(),
  concurrency: z.number().int().min(1).max(16),
  /** Stop after this many jobs (tests, benchmarks); unbounded by default. */
  maxJobs: z.number().int().min(1).optional(),
});

function count(value: string | true | undefined, name: string, fallback: number | undefined) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value === true || !Number.isInteger(n) || n < 1)
    throw usage(`--${name} takes a whole number of at least 1, got ${value === true ? "nothing" : value}.`);
  return n;
}

export const verb = defineVerb({
  name: "worker",
  order: 70,
  summary: "Take backups and restore tests from the state database's queue and run them here.",
  usage: {
    terminal: "dbbackup worker [--envs prod,staging] [--concurrency 1]",
    details: [
      "Needs DBBACKUP_STATE_URL (the same as the bot's). The bot queues its backups and restore tests",
      "when DBBACKUP_RUN_ON=workers; each is taken by exactly one worker, its progress flows back to",
      "the bot's message, and /dbbackup cancel reaches it. Runs until Ctrl-C or SIGTERM.",
    ],
  },
  options: { envs: { value: "ENV,ENV" }, concurrency: { value: "N" }, "max-jobs": { value: "N" } },
  args: workerArgs,
  fromWords({ positionals, options, envs }) {
    if (positionals.length > 0) throw usage(`worker takes no words, got ${positionals.join(" ")}.`);
    const list = options.envs;
    if (list === true) throw usage("--envs takes a list, e.g. --envs prod,staging.");
    const maxJobs = count(options["max-jobs"], "max-jobs", undefined);
    return {
      envs: list === undefined ? null : list.split(",").map((e) => knownEnv(e.trim(), envs)),
      concurrency: count(options.concurrency, "concurrency", 1),
      ...(maxJobs !== undefined ? { maxJobs } : {}),
    };
  },
  run: (ctx, args): Promise<WorkerSummary> =>
    runWorker(ctx, {
      envs: args.envs,
      concurrency: args.concurrency,
      signal: ctx.signal ?? new AbortController().signal,
      ...(ctx.onNote ? { onNote: ctx.onNote } : {}),
      ...(args.maxJobs !== undefined ? { maxJobs: args.maxJobs } : {}),
    }),
  terminal: {
    render: (r) => `worker stopped: ${r.ran} job(s) run, ${r.failed} failed\n`,
  },
});
