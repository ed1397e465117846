import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadSlackSettings } from "../commands/kit/slack-settings.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/log.js";
import { freePort } from "../src/restore/scratch-server.js";
import { createBot } from "../src/slack/app.js";
import { startFakeSlack, visibleText } from "../test/helpers/fake-slack.js";
import { slashCommand } from "../test/helpers/slack-requests.js";

export interface AckFigures {
  p50Ms: number;
  p99Ms: number;
  commands: number;
  /** How many of them arrived while the dump ran (all should). */
  duringDump: number;
  idleRssBytes: number;
  peakRssBytes: number;
  backupOk: boolean;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/**
 * 200 signed slash commands sent to the real bot (real Bolt HTTP receiver, fake Slack Web API on
 * 127.0.0.1) while the same bot runs a backup of the bench database: ack latency and the bot's RSS.
 */
export async function measureAcks(databaseUrl: string, count = 200): Promise<AckFigures> {
  const slack = await startFakeSlack();
  const dir = await mkdtemp(path.join(os.tmpdir(), "dbbackup-ackbench-"));
  const port = await freePort();
  const secret = "bench-signing-secret-0123456789";
  const channel = "C0BENCH01";
  const bot = createBot({
    config: loadConfig({ cwd: dir, env: { DATABASE_URL_STAGING: databaseUrl } }),
    settings: loadSlackSettings({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.url,
      DBBACKUP_CHANNEL: channel,
      PORT: String(port),
      HOST: "127.0.0.1",
    }),
    logger: createLogger("silent"),
  });
  try {
    await bot.start();
    const url = `http://127.0.0.1:${port}/slack/events`;
    const send = (text: string) =>
      slashCommand(url, secret, { text, user_id: "U0BENCH01", channel_id: channel });
    await send("help"); // warm up the path once
    globalThis.gc?.();
    const idleRssBytes = process.memoryUsage().rss;
    let peakRssBytes = idleRssBytes;
    const sampler = setInterval(() => {
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    }, 25);
    await send("staging ack-bench");
    await slack.waitForCall("chat.postMessage", (c) => visibleText(c.body).includes("(ack-bench)"), 30_000);
    let dumping = true;
    const finished = slack
      .waitForCall("chat.update", (c) => /backup (verified|failed)/.test(visibleText(c.body)), 600_000)
      .finally(() => {
        dumping = false;
      });
    const latencies: number[] = [];
    let duringDump = 0;
    for (let i = 0; i < count; i++) {
      const r = await send(i % 2 === 0 ? "help" : "status");
      if (r.status !== 200) throw new Error(`slash command ${i} answered ${r.status}`);
      latencies.push(r.elapsedMs);
      if (dumping) duringDump++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const done = await finished;
    clearInterval(sampler);
    latencies.sort((a, b) => a - b);
    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      commands: count,
      duringDump,
      idleRssBytes,
      peakRssBytes,
      backupOk: visibleText(done.body).includes("verified"),
    };
  } finally {
    await Promise.allSettled(bot.running());
    await bot.stop();
    await slack.close();
    await rm(dir, { recursive: true, force: true });
  }
}
