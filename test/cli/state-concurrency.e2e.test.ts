import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { readAnnotations } from "../../src/state/annotations.js";
import { runCli, startCli, workdir } from "../helpers/cli.js";
import { sql } from "../helpers/postgres.js";
import { stateOf } from "../helpers/state.js";

/**
 * What dbbackup remembers about a backup after it was taken, under concurrent use through the real
 * CLI: pins and restore-test results never lose each other, no file is ever torn, links in the
 * backups folder are never taken for backups, and every change is audited from the terminal.
 */

let server: ScratchServer;
let work: { dir: string; remove(): void };
let root: string;
let id: string;
/** A second backup, so two (restore-test ∥ keep) pairs run at once as well. */
let other: string;

const cli = (...args: string[]) => runCli(args, { cwd: work.dir });

/** Every JSON file dbbackup keeps (the backup's manifest, the state's documents) still parses. */
function expectNothingTorn(): void {
  const files = [
    path.join(root, id, "manifest.json"),
    path.join(root, other, "manifest.json"),
    ...readdirSync(path.join(root, ".state"))
      .filter((n) => n.endsWith(".json"))
      .map((n) => path.join(root, ".state", n)),
  ];
  for (const file of files) expect(() => JSON.parse(readFileSync(file, "utf8")), file).not.toThrow();
  for (const log of ["audit.jsonl", "drills.jsonl"]) {
    const text = readFileSync(path.join(root, ".state", log), "utf8");
    for (const line of text.trim().split("\n"))
      expect(() => JSON.parse(line), `${log}: ${line}`).not.toThrow();
  }
  expect(readdirSync(path.join(root, ".state")).filter((n) => n.endsWith(".tmp"))).toEqual([]);
}

beforeAll(async () => {
  server = await startScratchServer({ major: 15 });
  await sql(
    server.url(),
    "create table public.notes (id int primary key, body text); insert into public.notes select g, 'n' || g from generate_series(1, 50) g",
  );
  work = workdir({ DATABASE_URL_STAGING: server.url(), DBBACKUP_KEEP_ON_DEMAND: "1" });
  root = path.join(work.dir, "backups");
  const made = await cli("first", "--json");
  expect(made.exitCode, made.stderr).toBe(0);
  id = (JSON.parse(made.stdout) as { id: string }).id;
  const more = await cli("other", "--json");
  expect(more.exitCode, more.stderr).toBe(0);
  other = (JSON.parse(more.stdout) as { id: string }).id;
});
afterAll(async () => {
  await server?.stop();
  work?.remove();
});

describe("restore-test and keep at the same time", () => {
  it("20 × (restore-test ∥ keep), two at a time on two backups: every pin is there after its round, nothing torn", async () => {
    const manifestBefore = readFileSync(path.join(root, id, "manifest.json"), "utf8");
    let lost = 0;
    const lastTest: Record<string, string> = { [id]: "", [other]: "" };
    /** One pair: unpinned, then a restore test and a keep at once; was the pin kept, did the test land? */
    async function pair(backup: string, round: number): Promise<void> {
      expect((await cli("unkeep", backup)).exitCode).toBe(0);
      const test = startCli(["restore-test", backup], { cwd: work.dir });
      const keep = await cli("keep", backup, "--reason", `round ${round}`);
      expect(keep.exitCode, keep.stderr).toBe(0);
      const tested = await test;
      expect(tested.exitCode, String(tested.stderr)).toBe(0);
      const annotation = (await readAnnotations(stateOf(root)))[backup];
      if (annotation?.pin?.reason !== `round ${round}`) lost++;
      // The restore test's result landed too, each round a newer one.
      expect(annotation?.restoreTest?.ok).toBe(true);
      expect(annotation?.restoreTest?.at.localeCompare(lastTest[backup] ?? "")).toBe(1);
      lastTest[backup] = annotation?.restoreTest?.at ?? "";
    }
    for (let round = 1; round <= 10; round++) {
      await Promise.all([pair(id, round), pair(other, round)]);
      expectNothingTorn();
    }
    expect(lost, "pins lost").toBe(0);
    // What a user sees: pinned, stage 3; and the backup itself exactly as it was filed.
    const list = await cli("list");
    expect(list.stdout).toMatch(/3 restored/);
    expect(list.stdout).toContain("pinned: round 10");
    expect(readFileSync(path.join(root, id, "manifest.json"), "utf8")).toBe(manifestBefore);
    // And prune, told to keep one on-demand backup, keeps this pinned one however many come after.
    expect((await cli("second")).exitCode).toBe(0);
    expect((await cli("third")).exitCode).toBe(0);
    const pruned = await cli("prune");
    expect(pruned.stdout).toMatch(new RegExp(`kept\\s+${id}\\s+pinned by tester: "round 10"`));
    expect(statSync(path.join(root, id)).isDirectory()).toBe(true);
  }, 240_000);

  it("20 keeps from 20 processes at once, on one backup and on others: every answer is true, nothing torn", async () => {
    const ids = JSON.parse((await cli("list", "--json")).stdout).backups.map((b: { id: string }) => b.id);
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cli("keep", ids[i % ids.length] ?? id, "--reason", `k${i}`)),
    );
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    const pins = await readAnnotations(stateOf(root));
    for (const backupId of ids) {
      // The last writer of each backup won; its reason is one of the ones sent for it.
      const sent = runs
        .map((_, i) => i)
        .filter((i) => (ids[i % ids.length] ?? id) === backupId)
        .map((i) => `k${i}`);
      expect(sent).toContain(pins[backupId]?.pin?.reason);
    }
    expectNothingTorn();
  }, 120_000);
});

describe("symbolic links in the backups folder are never backups", () => {
  it("list reports a link; verify, restore-test, keep and diff refuse it and write nothing where it points", async () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), "dbbackup-linked-"));
    try {
      // A real backup's copy, somewhere else, linked into the backups folder under a backup's name.
      const linkedId = "20200101_000000_staging_linked";
      const target = path.join(elsewhere, linkedId);
      mkdirSync(target);
      for (const f of readdirSync(path.join(root, id))) {
        const text = readFileSync(path.join(root, id, f));
        const out = f === "manifest.json" ? Buffer.from(text.toString().split(id).join(linkedId)) : text;
        writeFileSync(path.join(target, f), out);
      }
      symlinkSync(target, path.join(root, linkedId));
      const before = snapshot(target);

      const list = await cli("list", "--json");
      const listing = JSON.parse(list.stdout) as {
        backups: { id: string }[];
        unreadable: { dir: string; reason: string }[];
      };
      expect(listing.backups.map((b) => b.id)).not.toContain(linkedId);
      expect(listing.unreadable).toContainEqual({
        dir: path.join(root, linkedId),
        reason: "a symbolic link, not a backup folder (dbbackup never follows them)",
      });
      for (const args of [
        ["verify", linkedId],
        ["restore-test", linkedId],
        ["diff", linkedId, id],
      ]) {
        const r = await cli(...args);
        expect(r.exitCode, args.join(" ")).toBe(2);
        expect(r.stderr).toContain("is a symbolic link, not a backup folder");
      }
      const keep = await cli("keep", linkedId);
      expect(keep.exitCode).not.toBe(0);
      expect(keep.stderr).toContain("a symbolic link, not a backup folder");
      // Also when named by its path inside the backups folder.
      const byPath = await cli("verify", path.join("backups", linkedId));
      expect(byPath.exitCode).toBe(2);
      expect(snapshot(target)).toEqual(before);
      expect(lstatSync(path.join(root, linkedId)).isSymbolicLink()).toBe(true);
      expect((await readAnnotations(stateOf(root)))[linkedId]).toBeUndefined();

      // The copy itself, named by its own path, may be read, but nothing is recorded for its id.
      const copy = await cli("verify", target);
      expect(copy.exitCode, copy.stderr).toBe(0);
      expect(copy.stdout).toContain(`is not in the backups folder: checked, not recorded for ${linkedId}`);
      expect(snapshot(target)).toEqual(before);
    } finally {
      rmSync(path.join(root, "20200101_000000_staging_linked"), { force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("every change is audited, whoever makes it", () => {
  it("keep, unkeep, prune and upgrade from the terminal write the same audit lines as from Slack", async () => {
    const auditLines = () =>
      readFileSync(path.join(root, ".state", "audit.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const before = auditLines().length;
    expect((await cli("keep", id, "--reason", "audited")).exitCode).toBe(0);
    expect((await cli("unkeep", id)).exitCode).toBe(0);
    expect((await cli("fourth")).exitCode).toBe(0);
    expect((await cli("fifth")).exitCode).toBe(0);
    const pruned = await cli("prune", "--json");
    const gone = (JSON.parse(pruned.stdout) as { deleted: string[] }).deleted;
    expect(gone.length).toBeGreaterThan(0);
    const start = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    const declared = await cli("upgrade", "staging", start, "02:00", "UTC", "1h", "--json");
    expect(declared.exitCode, declared.stderr).toBe(0);
    const windowId = (JSON.parse(declared.stdout) as { window: { id: string } }).window.id;
    expect((await cli("upgrade", "cancel", windowId)).exitCode).toBe(0);

    const lines = auditLines().slice(before);
    expect(lines).toContainEqual(
      expect.objectContaining({ kind: "pinned", id, reason: "audited", by: "tester", via: "terminal" }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ kind: "unpinned", id, by: "tester", via: "terminal" }),
    );
    for (const deleted of gone)
      expect(lines).toContainEqual(
        expect.objectContaining({ kind: "pruned", id: deleted, by: "tester", via: "terminal" }),
      );
    expect(lines).toContainEqual(
      expect.objectContaining({ kind: "window-declared", window: windowId, by: "tester", via: "terminal" }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ kind: "window-cancelled", window: windowId, by: "tester", via: "terminal" }),
    );
  }, 120_000);
});

/** Every file under `dir` with its size and mtime: to see that nothing was written there. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const s = statSync(path.join(dir, name));
    out[name] = `${s.size}:${s.mtimeMs}`;
  }
  return out;
}
