import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadVerbs } from "../../../../commands/kit/registry.js";
import { loadConfig } from "../../../../src/config.js";
import { createLogger } from "../../../../src/log.js";
import { register } from "../../../../src/slack/listeners/commands/dbbackup.js";
import { workdir } from "../../../helpers/cli.js";
import { visibleText } from "../../../helpers/fake-slack.js";
import { type ListenerApp, listenerApp } from "../../../helpers/listener-app.js";
import { slashCommand } from "../../../helpers/slack-requests.js";

const CHANNEL = "C0OPS00001";
const ALICE = "U0ALICE001";
const MALLORY = "U0MALLORY1";

describe("/dbbackup, registered alone on a Bolt app", () => {
  let harness: ListenerApp;
  let work: ReturnType<typeof workdir>;
  let accepting = true;
  const started: string[] = [];

  beforeAll(async () => {
    work = workdir();
    const config = loadConfig({ cwd: work.dir, env: {} });
    harness = await listenerApp((app) =>
      register(app, {
        config,
        approvalEnvs: ["prod"],
        logger: createLogger("silent"),
        registry: loadVerbs(),
        start: (work) => void work,
        runJob: async (verb, args, request) => {
          started.push(
            `${verb.name} ${JSON.stringify(args)} for ${request.requestedBy} in ${request.askedIn}`,
          );
        },
        requestApproval: async (user, env, label, reason) => {
          started.push(`approval of ${env} ${label} for ${user}: ${reason}`);
        },
        hooks: { runGuardrailJob: () => {} },
        contextFor: (userId) => ({ config, requestedBy: userId, via: "slack" }),
        say: (text) => text.replaceAll(work.dir, "the backups folder"),
        whoMayAsk: async (user) => (user === MALLORY ? "You're not on the list." : undefined),
        accepting: () => accepting,
      }),
    );
  });
  afterAll(async () => {
    await harness?.close();
    work?.remove();
  });
  afterEach(() => {
    started.length = 0;
    accepting = true;
  });

  const ask = async (text: string, user = ALICE) => {
    const r = await slashCommand(harness.eventsUrl, harness.signingSecret, {
      text,
      user_id: user,
      channel_id: CHANNEL,
    });
    expect(r.status).toBe(200);
    return r.body ? (JSON.parse(r.body) as { response_type?: string; text?: string }) : undefined;
  };

  it("a backup of staging goes to the job runner, acked at once with nothing to say", async () => {
    expect(await ask("staging pre-upgrade")).toBeUndefined();
    await expect
      .poll(() => started, { timeout: 5_000 })
      .toEqual([
        `backup {"env":"staging","label":"pre-upgrade","restoreHint":true} for ${ALICE} in ${CHANNEL}`,
      ]);
  });

  it("a prod backup waits for a second person instead", async () => {
    await ask("prod pre-upgrade before the 15.8 upgrade");
    await expect
      .poll(() => started, { timeout: 5_000 })
      .toEqual([`approval of prod pre-upgrade for ${ALICE}: before the 15.8 upgrade`]);
  });

  it("help is answered in the ack, to the asker only", async () => {
    const reply = await ask("help");
    expect(reply?.response_type).toBe("ephemeral");
    expect(visibleText(reply ?? {})).toContain("/dbbackup list");
    expect(started).toEqual([]);
  });

  it("a quick answer that fails says why, in the ack", async () => {
    const reply = await ask("keep 20261129-000000-staging-nothing");
    expect(reply?.response_type).toBe("ephemeral");
    expect(visibleText(reply ?? {})).toMatch(/20261129-000000-staging-nothing/);
  });

  it("someone not allowed, an unknown env and a restart are refused in the ack, and nothing starts", async () => {
    expect(visibleText((await ask("staging", MALLORY)) ?? {})).toContain("You're not on the list.");
    expect(visibleText((await ask("billing pre-upgrade")) ?? {})).toMatch(/billing/);
    accepting = false;
    expect((await ask("staging"))?.text).toBe("dbbackup is restarting; ask again in a minute.");
    expect(started).toEqual([]);
  });

  it("the list comes after the ack, privately", async () => {
    expect(await ask("list")).toBeUndefined();
    const call = await harness.slack.waitForCall("chat.postEphemeral", (c) => c.body.user === ALICE, 5_000);
    expect(visibleText(call.body)).toMatch(/no backups|No backups/i);
  });
});
