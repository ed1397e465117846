import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";
import { runCli, workdir } from "../helpers/cli.js";
import { loadFixture, sql } from "../helpers/postgres.js";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.js";

const MARKER_TABLE = "offsite_marker_table";
const MARKER_ROW = "plaintext-row-7f3a9c1e";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("off-site copies: encrypted, proven, listed, pulled back and restore-tested from the bucket alone", () => {
  let db: ScratchServer;
  let s3: S3TestServer;
  let work: ReturnType<typeof workdir>;
  let elsewhere: ReturnType<typeof workdir>;
  let keyFile: string;
  let otherKeyFile: string;
  let recipient: string;
  let id: string;
  let first: { exitCode: number; stdout: string; stderr: string };

  const keygen = async (file: string) => {
    await execa("age-keygen", ["-o", file]);
    return (await execa("age-keygen", ["-y", file])).stdout.trim();
  };

  beforeAll(async () => {
    [db, s3] = await Promise.all([startScratchServer({ major: 15 }), startS3Server()]);
    const url = db.url("postgres");
    await loadFixture(url, "supabase");
    await sql(
      url,
      `create table public.${MARKER_TABLE} (v text); insert into public.${MARKER_TABLE} values ('${MARKER_ROW}')`,
    );
    elsewhere = workdir();
    keyFile = path.join(elsewhere.dir, "key.txt");
    otherKeyFile = path.join(elsewhere.dir, "other-key.txt");
    recipient = await keygen(keyFile);
    await keygen(otherKeyFile);
    work = workdir({ DATABASE_URL_STAGING: url, ...s3.env("supabase"), DBBACKUP_AGE_RECIPIENTS: recipient });
    first = await runCli(["staging", "pre-upgrade"], { cwd: work.dir });
    id = readdirSync(path.join(work.dir, "backups")).find((n) => !n.startsWith(".")) ?? "";
  });
  afterAll(async () => {
    await Promise.all([db?.stop(), s3?.remove()]);
    work?.remove();
    elsewhere?.remove();
  });

  const stored = () => s3.keys().filter((k) => k.startsWith(`supabase/${id}/`));
  const index = () =>
    JSON.parse(String(s3.stored(`supabase/${id}/offsite.json`))) as {
      files: { name: string; key: string; sha256: string; bytes: number }[];
      recipients: { hint: string }[];
    };

  it("copies the backup after verifying it: every file encrypted, proven, and the copy's index last", () => {
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`✔ off-site s3://dbbackup-test/supabase/${id}/ \\(.* encrypted to age1`),
    );
    const local = readdirSync(path.join(work.dir, "backups", id)).sort();
    expect(stored().sort()).toEqual(
      [...local.map((f) => `supabase/${id}/${f}.age`), `supabase/${id}/offsite.json`].sort(),
    );
    // The bytes the store keeps are exactly the bytes sent, as the index records them.
    for (const f of index().files) {
      expect(s3.storedSha256(f.key), f.name).toBe(f.sha256);
      expect(s3.stored(f.key)?.subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    }
    expect(s3.openUploads()).toEqual([]);
  });

  it("nothing of the database is readable in the bucket", () => {
    expect(readFileSync(path.join(work.dir, "backups", id, "schema.sql"), "utf8")).toContain(MARKER_TABLE);
    for (const key of stored().filter((k) => k.endsWith(".age"))) {
      const bytes = s3.stored(key) ?? Buffer.alloc(0);
      expect(bytes.includes(MARKER_TABLE), key).toBe(false);
      expect(bytes.includes(MARKER_ROW), key).toBe(false);
    }
  });

  it("list shows it off-site; list --offsite reads the bucket", async () => {
    const list = await runCli(["list"], { cwd: work.dir });
    expect(list.stdout).toMatch(new RegExp(`${id}.*✓`));
    const remote = await runCli(["list", "--offsite", "--json"], { cwd: work.dir });
    expect(remote.exitCode, remote.stderr).toBe(0);
    expect(JSON.parse(remote.stdout)).toMatchObject({
      copies: [{ id, env: "staging", label: "pre-upgrade" }],
      incomplete: [],
    });
  });

  it("after losing the host: a new folder finds it in the bucket, pulls it byte-identical and re-verifies it", async () => {
    const fresh = workdir({ ...s3.env("supabase") });
    try {
      const remote = await runCli(["list", "--offsite"], { cwd: fresh.dir });
      expect(remote.stdout).toContain(id);
      const pulled = await runCli(["pull", id, "--identity", keyFile], { cwd: fresh.dir });
      expect(pulled.exitCode, pulled.stderr).toBe(0);
      expect(pulled.stdout).toContain(`${id} still verifies`);
      for (const name of readdirSync(path.join(work.dir, "backups", id)))
        expect(sha256(readFileSync(path.join(fresh.dir, "backups", id, name))), name).toBe(
          sha256(readFileSync(path.join(work.dir, "backups", id, name))),
        );
      const again = await runCli(["pull", id, "--identity", keyFile], { cwd: fresh.dir });
      expect(again.exitCode).toBe(1);
      expect(again.stderr).toContain("already in");
    } finally {
      fresh.remove();
    }
  });

  it("a key the copy wasn't encrypted to is told so, with the recipients, and leaves nothing", async () => {
    const fresh = workdir({ ...s3.env("supabase") });
    try {
      const r = await runCli(["pull", id, "--identity", otherKeyFile], { cwd: fresh.dir });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`This key can't decrypt it (recipients: ${index().recipients[0]?.hint})`);
      expect(existsSync(path.join(fresh.dir, "backups", id))).toBe(false);
      const none = await runCli(["pull", id], { cwd: fresh.dir });
      expect(none.exitCode).toBe(2);
      expect(none.stderr).toContain("--identity");
    } finally {
      fresh.remove();
    }
  });

  it("restore-test --from offsite proves the bucket's copy restores", async () => {
    const r = await runCli(["restore-test", id, "--from", "offsite", "--identity", keyFile], {
      cwd: work.dir,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restore test of ${id} passed`);
    expect(r.stdout).toContain("the off-site copy in s3://dbbackup-test/supabase");
    expect(readdirSync(path.join(work.dir, "backups")).filter((n) => n.includes("offsite-test"))).toEqual([]);
  });

  it("a copy that fails says the local backup is good, exits 1, and `offsite <ID>` copies it later", async () => {
    const secret = "wrong-secret-zz9-never-shown";
    // s3rver checks the key id, not the signature: a wrong id stands for any refused key.
    const failed = await runCli(["staging", "second"], {
      cwd: work.dir,
      env: { AWS_ACCESS_KEY_ID: "AKIAWRONGKEY", AWS_SECRET_ACCESS_KEY: secret },
    });
    expect(failed.exitCode, failed.stdout).toBe(1);
    expect(failed.stdout).toContain("off-site copy failed: The bucket dbbackup-test refused the credentials");
    expect(failed.stdout).toContain("The local backup is good and listed.");
    const second = readdirSync(path.join(work.dir, "backups")).find((n) => n.endsWith("_second")) ?? "";
    expect(s3.keys().filter((k) => k.includes(second))).toEqual([]);
    const list = await runCli(["list"], { cwd: work.dir });
    expect(list.stdout).toMatch(
      new RegExp(`${second}.*failed: The bucket dbbackup-test refused the credentials`),
    );
    const retry = await runCli(["offsite", second], { cwd: work.dir });
    expect(retry.exitCode, retry.stderr).toBe(0);
    expect(retry.stdout).toContain(`${second} copied off-site`);
    const twice = await runCli(["offsite", second], { cwd: work.dir });
    expect(twice.stdout).toContain("is off-site already");
    const stateDir = path.join(work.dir, "backups", ".state");
    const stateFiles = readdirSync(stateDir, { recursive: true, encoding: "utf8" })
      .map((f) => path.join(stateDir, f))
      .filter((f) => statSync(f).isFile());
    const everything = [failed.stdout, failed.stderr, ...stateFiles.map((f) => readFileSync(f, "utf8"))].join(
      "\n",
    );
    expect(everything).not.toContain(secret);
  });

  it("a missing bucket is named as such", async () => {
    const r = await runCli(["list", "--offsite"], {
      cwd: work.dir,
      env: { DBBACKUP_OFFSITE_URL: "s3://no-such-bucket-here/x" },
    });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stderr).toContain("The bucket no-such-bucket-here does not exist");
  });
});
