import { loadSlackSettings } from "../../commands/kit/slack-settings.js";
import { loadConfig } from "../../src/config.js";
import { loadGuardrailSettings } from "../../src/guardrails/settings.js";
import { createLogger } from "../../src/log.js";
import { type Bot, createBot } from "../../src/slack/app.js";
import type { FakeSlack } from "./fake-slack.js";

export interface TestBotOptions {
  slack: FakeSlack;
  /** HTTP mode on 127.0.0.1:port with this signing secret. */
  port: number;
  signingSecret: string;
  channel: string;
  /** Folder whose backups/ the bot uses. */
  cwd: string;
  /** Backup settings (DATABASE_URL_…, DBBACKUP_…). */
  env: Record<string, string>;
  /** Extra bot settings (approvers, TTL, requesters…). */
  slackEnv?: Record<string, string>;
  /** Guardrail settings (DBBACKUP_NAG_HOURS, SUPABASE_…); defaults otherwise. */
  guardrailEnv?: Record<string, string>;
  /** The guardrails' clock. */
  now?: () => Date;
  /** Start the cron schedules (default false: tests run jobs with bot.runJob). */
  schedule?: boolean;
}

/** The real bot, wired to a fake Slack, quiet unless TEST_LOG says otherwise, quick progress updates. */
export function testBot(o: TestBotOptions): Bot {
  const config = loadConfig({ cwd: o.cwd, env: o.env });
  const settings = loadSlackSettings({
    SLACK_BOT_TOKEN: o.slack.token,
    SLACK_SIGNING_SECRET: o.signingSecret,
    SLACK_API_URL: o.slack.url,
    DBBACKUP_CHANNEL: o.channel,
    PORT: String(o.port),
    HOST: "127.0.0.1",
    ...o.slackEnv,
  });
  return createBot({
    config,
    settings,
    logger: createLogger(process.env.TEST_LOG ?? "silent"),
    progressIntervalMs: 50,
    guardrails: loadGuardrailSettings(o.guardrailEnv ?? {}, config.environments.keys()),
    schedule: o.schedule ?? false,
    ...(o.now ? { now: o.now } : {}),
  });
}

/** A suite's end: let the bot's work finish, stop it, then its fake Slack, database and folder. */
export async function closeTestBot(parts: {
  bot: Bot | undefined;
  slack: FakeSlack | undefined;
  db: { stop(): Promise<void> } | undefined;
  work: { remove(): void } | undefined;
}): Promise<void> {
  await Promise.allSettled(parts.bot?.running() ?? []);
  await parts.bot?.stop();
  await Promise.all([parts.slack?.close(), parts.db?.stop()]);
  parts.work?.remove();
}
