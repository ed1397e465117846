import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAnnotations } from "../../src/state/annotations.js";
import { type BotProcess, killAll, startBotProcess } from "../helpers/bot-process.js";
import { runCli, workdir } from "../helpers/cli.js";
import { type FakeSlack, startFakeSlack } from "../helpers/fake-slack.js";
import { makeManifest, writeBackupFolder } from "../helpers/manifest.js";
import { slashCommand } from "../helpers/slack-requests.js";
import { stateOf } from "../helpers/state.js";

/** `/dbbackup keep` sent many times at once to the real bot process: no pin lost, nothing torn. */

const SECRET = "keep-signing-secret-0123456789";
const CHANNEL = "C0OPS0007";
const ALICE = "U0ALICE01";

describe("/dbbackup keep, twenty at once", () => {
  let slack: FakeSlack;
  let work: { dir: string; remove(): void };
  let bot: BotProcess | undefined;
  const root = () => path.join(work.dir, "backups");
  const ids = Array.from({ length: 10 }, (_, i) => `202611${String(i + 10)}_100000_staging`);

  beforeAll(async () => {
    slack = await startFakeSlack();
    work = workdir();
    for (const id of ids) writeBackupFolder(root(), makeManifest(id));
    bot = await startBotProcess({
      slack,
      signingSecret: SECRET,
      channel: CHANNEL,
      cwd: work.dir,
      env: { DATABASE_URL_STAGING: "postgresql://u@127.0.0.1:1/x" },
    });
  });
  afterAll(async () => {
    await killAll([bot]);
    await slack?.close();
    work?.remove();
  });

  it("20 keeps at once, two per backup: every one answered pinned, every backup pinned, manifests untouched", async () => {
    const manifests = ids.map((id) => readFileSync(path.join(root(), id, "manifest.json"), "utf8"));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        slashCommand(bot?.events ?? "", SECRET, {
          text: `keep ${ids[i % ids.length]} reason ${i}`,
          user_id: ALICE,
          channel_id: CHANNEL,
        }),
      ),
    );
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect((JSON.parse(a.body) as { text: string }).text).toMatch(
        /is pinned: reason \d+\. prune will never delete it/,
      );
    }
    const pins = await readAnnotations(stateOf(root()));
    for (const [n, id] of ids.entries())
      expect([`reason ${n}`, `reason ${n + 10}`]).toContain(pins[id]?.pin?.reason);
    ids.forEach((id, n) => {
      expect(readFileSync(path.join(root(), id, "manifest.json"), "utf8")).toBe(manifests[n]);
    });
    expect(readdirSync(path.join(root(), ".state")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // Every backup still listed, each with its pin.
    const list = JSON.parse((await runCli(["list", "--json"], { cwd: work.dir })).stdout) as {
      backups: { id: string; pin?: { reason: string } }[];
    };
    expect(list.backups.map((b) => b.id).sort()).toEqual([...ids].sort());
    expect(list.backups.every((b) => b.pin?.reason.startsWith("reason "))).toBe(true);
    // The same audit line as from the terminal, saying it came from Slack.
    const audit = readFileSync(path.join(root(), ".state", "audit.jsonl"), "utf8")
      .trim()
      .split("\n");
    const pinned = audit
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.kind === "pinned");
    expect(pinned).toHaveLength(20);
    expect(pinned.every((l) => l.by === ALICE && l.via === "slack")).toBe(true);
  }, 60_000);
});
