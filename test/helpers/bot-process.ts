import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../src/restore/scratch-server.js";
import { REPO } from "./cli.js";
import type { FakeSlack } from "./fake-slack.js";

export const BOT_BIN = path.join(REPO, "bin", "dbbackup-bot.js");

export interface BotProcessOptions {
  slack: FakeSlack;
  signingSecret: string;
  channel: string;
  /** The bot's working folder (its `.env` and, unless DBBACKUP_DIR says otherwise, its backups/). */
  cwd: string;
  /**
   * Backup and bot settings for this process (DATABASE_URL_…, DBBACKUP_LEASE, DBBACKUP_PROD_APPROVERS…).
   * Every guardrail schedule is off unless set here (DBBACKUP_SCHEDULE_<JOB>): a cron firing mid-test
   * (the drill reminder at 09:00, retention at 03:30…) would post and prune on its own.
   */
  env?: Record<string, string>;
  /** HTTP port on 127.0.0.1 (default: a free one). */
  port?: number;
  /**
   * Run the bot as PID 1 of a fresh PID, mount (for /proc) and UTS namespace with this hostname:
   * what a container looks like from the host. Needs root (CAP_SYS_ADMIN).
   */
  namespaceHostname?: string;
  /** How long to wait until it answers HTTP (default 30 s). */
  readyTimeoutMs?: number;
}

export interface BotProcess {
  /** The node process's pid as this (the host's) PID namespace sees it. */
  readonly pid: number;
  readonly port: number;
  /** Its Request URL: http://127.0.0.1:PORT/slack/events */
  readonly events: string;
  /** stdout and stderr so far (pino JSON lines), for failure messages. */
  output(): string;
  /** Whether the process has exited. */
  readonly exited: boolean;
  /** SIGTERM (a graceful shutdown), then waits for it to exit (SIGKILL after `timeoutMs`); resolves with its exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL to the bot's node process, then waits until it (and, in a namespace, the namespace) is gone. */
  kill(): Promise<void>;
}

const SCHEDULES_OFF = Object.fromEntries(
  ["WINDOWS", "VERSIONS", "DRILLS", "RETENTION", "SUPABASE"].map((job) => [
    `DBBACKUP_SCHEDULE_${job}`,
    "off",
  ]),
);

/** Ports handed to bots of this test process: two bots started at once never get the same one. */
const handedOut = new Set<number>();

async function unusedPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port that no other bot of this test was given");
}

function cleanEnv(o: BotProcessOptions, port: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    USER: "tester",
    NO_COLOR: "1",
    LOG_LEVEL: process.env.TEST_LOG ?? "warn",
    SLACK_BOT_TOKEN: o.slack.token,
    SLACK_SIGNING_SECRET: o.signingSecret,
    SLACK_API_URL: o.slack.url,
    DBBACKUP_CHANNEL: o.channel,
    PORT: String(port),
    HOST: "127.0.0.1",
    ...SCHEDULES_OFF,
    ...o.env,
  };
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** Pids whose parent is `parent` (from /proc/<pid>/stat). */
function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function isNodeBot(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv[0]?.endsWith("node") === true && argv.includes(BOT_BIN);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The real bot (`node bin/dbbackup-bot.js`, from dist/) as a process of its own, HTTP mode on
 * 127.0.0.1, talking to the fake Slack, with a clean environment. Resolves once it answers HTTP
 * (which is after its start-up clean-up of dead instances). It is tied to the test process
 * (setpriv --pdeathsig / unshare --kill-child), so a crashed test run leaves no bot behind.
 */
export async function startBotProcess(o: BotProcessOptions): Promise<BotProcess> {
  if (!existsSync(path.join(REPO, "dist", "src", "slack", "main.js")))
    throw new Error("dist/ is missing: run `npm run build` first");
  const port = o.port ?? (await unusedPort());
  const env = cleanEnv(o, port);
  let file: string;
  let args: string[];
  if (o.namespaceHostname) {
    if (!/^[a-z0-9-]{1,60}$/.test(o.namespaceHostname)) throw new Error("a plain hostname, please");
    file = "unshare";
    args = [
      "--pid",
      "--fork",
      "--uts",
      "--mount-proc",
      "--kill-child=SIGKILL",
      "sh",
      "-c",
      `hostname ${o.namespaceHostname} && exec node ${shellQuote(BOT_BIN)}`,
    ];
  } else if (existsSync("/usr/bin/setpriv")) {
    file = "/usr/bin/setpriv";
    args = ["--pdeathsig=KILL", "--", process.execPath, BOT_BIN];
  } else {
    file = process.execPath;
    args = [BOT_BIN];
  }
  const child: ChildProcess = spawn(file, args, { cwd: o.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited = false;
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      resolve(code ?? (signal ? -1 : null));
    });
    child.once("error", (error) => {
      exited = true;
      output += `\nspawn error: ${String(error)}`;
      resolve(null);
    });
  });
  if (child.pid === undefined) {
    await exit;
    throw new Error(`the bot did not start: ${output}`);
  }
  const spawned = child.pid;

  const events = `http://127.0.0.1:${port}/slack/events`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  let nodePid: number | undefined = o.namespaceHostname ? undefined : spawned;
  const fail = async (why: string): Promise<never> => {
    child.kill("SIGKILL");
    if (nodePid !== undefined && nodePid !== spawned) {
      try {
        process.kill(nodePid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await Promise.race([exit, sleep(5_000)]);
    throw new Error(`${why}\n--- bot output ---\n${output}`);
  };
  for (;;) {
    if (exited) return fail(`the bot exited before answering on port ${port}`);
    if (Date.now() > deadline) return fail(`the bot did not answer on port ${port} within the time allowed`);
    if (nodePid === undefined) {
      // unshare forks sh, which execs node: the node process is unshare's only child.
      nodePid = childrenOf(spawned).find(isNodeBot);
    }
    const answered = await fetch(events, { method: "GET", signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    );
    if (answered && nodePid !== undefined) break;
    await sleep(50);
  }
  const botPid = nodePid;

  return {
    pid: botPid,
    port,
    events,
    output: () => output,
    get exited() {
      return exited;
    },
    async stop(timeoutMs = 30_000) {
      if (exited) return exit;
      try {
        process.kill(botPid, "SIGTERM");
      } catch {
        // gone already
      }
      const code = await Promise.race([exit, sleep(timeoutMs).then(() => "timeout" as const)]);
      if (code !== "timeout") return code;
      child.kill("SIGKILL");
      try {
        process.kill(botPid, "SIGKILL");
      } catch {
        // gone
      }
      await Promise.race([exit, sleep(5_000)]);
      throw new Error(`the bot did not stop within ${timeoutMs} ms of SIGTERM\n${output}`);
    },
    async kill() {
      if (exited) return;
      try {
        process.kill(botPid, "SIGKILL");
      } catch {
        // gone already
      }
      const done = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await Promise.race([exit, sleep(5_000)]);
      }
    },
  };
}

/** Stops every bot given (SIGKILL), ignoring those already gone: for afterAll. */
export async function killAll(bots: Iterable<BotProcess | undefined>): Promise<void> {
  await Promise.all([...bots].map((b) => b?.kill().catch(() => {})));
}
