/**
 * Issue 14's ack figure: three bot processes (`node bin/dbbackup-bot.js`) sharing one state database,
 * 200 signed slash commands spread over them in turn; each one's ack time as the sender sees it.
 * Every request passes the replay claim in the state database before Bolt sees it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { ScratchServer } from "../src/restore/scratch-server.js";
import { type BotProcess, killAll, startBotProcess } from "../test/helpers/bot-process.js";
import { startFakeSlack } from "../test/helpers/fake-slack.js";
import { slashCommand } from "../test/helpers/slack-requests.js";
import { percentile } from "./slack-ack.js";

export interface ReplicaAcks {
  p50Ms: number;
  p99Ms: number;
  commands: number;
  replicas: number;
}

export async function measureReplicaAcks(
  server: ScratchServer,
  databaseUrl: string,
  count = 200,
): Promise<ReplicaAcks> {
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query("create database ack_state");
  await admin.end();
  const slack = await startFakeSlack();
  const secret = "bench-replicas-secret-0123456789";
  const channel = "C0BENCH02";
  const dirs = await Promise.all(
    [1, 2, 3].map(() => mkdtemp(path.join(os.tmpdir(), "dbbackup-replica-ack-"))),
  );
  let bots: BotProcess[] = [];
  try {
    bots = await Promise.all(
      dirs.map((cwd) =>
        startBotProcess({
          slack,
          signingSecret: secret,
          channel,
          cwd,
          env: { DATABASE_URL_STAGING: databaseUrl, DBBACKUP_STATE_URL: server.url("ack_state") },
        }),
      ),
    );
    const send = (bot: BotProcess, text: string) =>
      slashCommand(bot.events, secret, { text, user_id: "U0BENCH01", channel_id: channel });
    // Warm each replica's path (and its state database pool) once.
    for (const bot of bots) await send(bot, "help");
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const r = await send(bots[i % bots.length] as BotProcess, i % 2 === 0 ? "help" : "status");
      if (r.status !== 200) throw new Error(`slash command ${i} answered ${r.status}`);
      latencies.push(r.elapsedMs);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    latencies.sort((a, b) => a - b);
    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      commands: count,
      replicas: 3,
    };
  } finally {
    await killAll(bots);
    await slack.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

export function replicaAckRow(a: ReplicaAcks | undefined): string[] {
  return [
    `Slack ack p50 / p99 of ${a?.commands ?? 200} slash commands over ${a?.replicas ?? 3} bot replicas, one state database`,
    a ? `${a.p50Ms.toFixed(1)} / ${a.p99Ms.toFixed(1)} ms` : "n/a",
    "50 ms",
    a ? (a.p99Ms / 50).toFixed(2) : "n/a",
    "p99 ≤ 50 ms",
  ];
}
