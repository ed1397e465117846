import { describe, expect, it } from "vitest";
import { ADHOC_ENV, parseTarget, resolveTarget, type Target } from "../../src/backup/target.js";
import type { Config, EnvironmentConfig } from "../../src/config.js";
import { DbBackupError } from "../../src/errors.js";

function config(envs: Record<string, Omit<EnvironmentConfig, "name">>): Config {
  return {
    backupsDir: "/tmp/backups",
    leaseMs: 60_000,
    rowDropPercent: 10,
    environments: new Map(Object.entries(envs).map(([name, e]) => [name, { name, ...e }])),
    lockWaitTimeoutSeconds: 60,
    exactCountMaxRows: 1_000_000,
    requestedBy: "alice",
    retention: { keepOnDemand: 5, keepPreUpgrade: 2 },
    runOn: "here",
    workerAttempts: 1,
  };
}

function refusal(fn: () => Target): DbBackupError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DbBackupError) return error;
    throw error;
  }
  throw new Error("expected a DbBackupError");
}

const SECRET = "Sup3r-s3cret";
const DIRECT = `postgresql://postgres:${SECRET}@db.abcdefgh.supabase.co:5432/postgres?sslmode=require`;

describe("parseTarget", () => {
  it("reads host, port, database, user and password, and shows the URL with the password masked", () => {
    const t = parseTarget(DIRECT, "prod", "DATABASE_URL_PROD");
    expect(t).toMatchObject({
      env: "prod",
      source: "DATABASE_URL_PROD",
      host: "db.abcdefgh.supabase.co",
      port: 5432,
      database: "postgres",
      user: "postgres",
      password: SECRET,
      sslmode: "require",
      warnings: [],
    });
    expect(t.display).toBe(
      "postgresql://postgres:****@db.abcdefgh.supabase.co:5432/postgres?sslmode=require",
    );
  });

  it("decodes a percent-encoded password but never shows it in either form", () => {
    const t = parseTarget(
      "postgresql://postgres.ref:p%40ss%23w0rd@aws-0-eu-central-1.pooler.supabase.com:5432/postgres?sslmode=require",
      "staging",
      "DATABASE_URL_STAGING",
    );
    expect(t.password).toBe("p@ss#w0rd");
    expect(t.user).toBe("postgres.ref");
    expect(t.display).not.toContain("p%40ss");
    expect(t.display).not.toContain("p@ss");
    expect(t.display).toContain("postgres.ref:****@aws-0-eu-central-1.pooler.supabase.com:5432");
  });

  it("masks a password given as a query parameter", () => {
    const t = parseTarget(
      `postgresql://postgres@db.x.supabase.co:5432/postgres?sslmode=require&password=${SECRET}`,
      "staging",
      "DATABASE_URL_STAGING",
    );
    expect(t.password).toBe(SECRET);
    expect(t.display).not.toContain(SECRET);
    expect(t.display).toContain("sslmode=require");
  });

  it("refuses port 6543 with the reason and the 5432 alternatives, without the password", () => {
    const error = refusal(() =>
      parseTarget(
        `postgresql://postgres.ref:${SECRET}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?sslmode=require`,
        "prod",
        "DATABASE_URL_PROD",
      ),
    );
    expect(error.code).toBe("port_6543");
    expect(error.message).toContain("6543");
    expect(error.message).toContain("transaction pooler");
    expect(error.message).toContain(
      "postgresql://postgres.ref:****@aws-0-eu-central-1.pooler.supabase.com:6543",
    );
    expect(error.hint).toContain("db.<ref>.supabase.co:5432");
    expect(error.hint).toContain("pooler.supabase.com:5432");
    expect(error.hint).toContain("session pooler");
    expect(`${error.message} ${error.hint}`).not.toContain(SECRET);
  });

  it("warns when a remote URL has no sslmode", () => {
    const t = parseTarget(
      `postgresql://postgres:${SECRET}@db.x.supabase.co:5432/postgres`,
      "prod",
      "DATABASE_URL_PROD",
    );
    expect(t.warnings).toHaveLength(1);
    expect(t.warnings[0]).toContain("sslmode=require");
    expect(t.warnings[0]).toContain("db.x.supabase.co");
    expect(t.warnings[0]).toContain("DATABASE_URL_PROD");
    expect(t.warnings[0]).not.toContain(SECRET);
  });

  it.each(["127.0.0.1", "localhost", "[::1]"])("does not warn about sslmode for local host %s", (host) => {
    const t = parseTarget(`postgresql://postgres@${host}:5432/postgres`, "staging", "DATABASE_URL_STAGING");
    expect(t.warnings).toEqual([]);
  });

  it("does not warn when sslmode is given", () => {
    expect(parseTarget(DIRECT, "prod", "DATABASE_URL_PROD").warnings).toEqual([]);
  });

  // isLocalHost treats every host starting with "127." as loopback, so a DNS name like
  // 127.example.com (a remote host) gets no sslmode warning. Fix: match the IPv4 pattern
  // /^127\.\d+\.\d+\.\d+$/ instead of startsWith("127.").
  it("warns about sslmode for a remote DNS name that merely starts with 127.", () => {
    const t = parseTarget(
      "postgresql://postgres:pw@127.db.example.com:5432/postgres",
      "qa",
      "DATABASE_URL_QA",
    );
    expect(t.warnings).toHaveLength(1);
  });

  it("defaults the port to 5432, the user and the database to postgres", () => {
    const t = parseTarget("postgresql://db.x.supabase.co?sslmode=require", "qa", "DATABASE_URL_QA");
    expect(t.port).toBe(5432);
    expect(t.user).toBe("postgres");
    expect(t.database).toBe("postgres");
  });

  it("refuses a value that is not a URL, without echoing it", () => {
    const error = refusal(() =>
      parseTarget(`host=db.x port=5432 password=${SECRET}`, "prod", "DATABASE_URL_PROD"),
    );
    expect(error.code).toBe("url_invalid");
    expect(error.message).toContain("DATABASE_URL_PROD");
    expect(error.hint).toContain("postgresql://user:password@host:5432");
    expect(`${error.message} ${error.hint}`).not.toContain(SECRET);
  });

  it("refuses another scheme", () => {
    const error = refusal(() => parseTarget(`mysql://root:${SECRET}@db:3306/app`, "qa", "DATABASE_URL_QA"));
    expect(error.code).toBe("url_invalid");
    expect(error.message).toContain("mysql://");
    expect(error.message).not.toContain(SECRET);
  });

  it("accepts postgres:// as well as postgresql://", () => {
    expect(parseTarget("postgres://u:pw@127.0.0.1:5433/app", "qa", "DATABASE_URL_QA")).toMatchObject({
      port: 5433,
      database: "app",
      user: "u",
    });
  });
});

describe("resolveTarget", () => {
  it("backs up staging by default, from DATABASE_URL_STAGING", () => {
    const t = resolveTarget(config({ staging: { url: DIRECT, source: "DATABASE_URL_STAGING" } }), {});
    expect(t.env).toBe("staging");
    expect(t.source).toBe("DATABASE_URL_STAGING");
    expect(t.warnings).toEqual([]);
  });

  it("says so when staging comes from the legacy DATABASE_URL", () => {
    const t = resolveTarget(config({ staging: { url: DIRECT, source: "DATABASE_URL" } }), { env: "staging" });
    expect(t.source).toBe("DATABASE_URL");
    expect(t.warnings.join("\n")).toContain("legacy DATABASE_URL");
    expect(t.warnings.join("\n")).toContain("DATABASE_URL_STAGING");
  });

  it("files a --url backup as adhoc, never as staging or prod", () => {
    const t = resolveTarget(config({ staging: { url: DIRECT, source: "DATABASE_URL_STAGING" } }), {
      url: "postgresql://u:pw@10.0.0.5:5432/app?sslmode=require",
    });
    expect(t.env).toBe(ADHOC_ENV);
    expect(t.env).toBe("adhoc");
    expect(t.source).toBe("--url");
    expect(t.host).toBe("10.0.0.5");
  });

  it("refuses --url together with an env", () => {
    const error = refusal(() =>
      resolveTarget(config({}), { env: "prod", url: "postgresql://u:pw@10.0.0.5:5432/app?sslmode=require" }),
    );
    expect(error.code).toBe("url_with_env");
    expect(error.message).toContain("prod");
    expect(error.message).toContain("adhoc");
    expect(error.message).not.toContain("pw@");
  });

  it("gives prod's no-URL advice: DATABASE_URL_PROD, no fallback", () => {
    const error = refusal(() => resolveTarget(config({}), { env: "prod" }));
    expect(error.code).toBe("no_url");
    expect(error.message).toBe("No database URL for prod.");
    expect(error.hint).toContain("DATABASE_URL_PROD");
    expect(error.hint).toContain("never falls back");
    expect(error.hint).toContain("--url");
  });

  it("gives staging's no-URL advice: DATABASE_URL_STAGING or the legacy DATABASE_URL", () => {
    const error = refusal(() => resolveTarget(config({}), {}));
    expect(error.code).toBe("no_url");
    expect(error.message).toBe("No database URL for staging.");
    expect(error.hint).toContain("DATABASE_URL_STAGING");
    expect(error.hint).toContain("legacy DATABASE_URL");
  });

  it("gives another env's no-URL advice naming its own variable", () => {
    const error = refusal(() => resolveTarget(config({}), { env: "qa" }));
    expect(error.hint).toContain("DATABASE_URL_QA");
    expect(error.hint).not.toContain("DATABASE_URL_PROD");
    expect(error.hint).not.toContain("DATABASE_URL_STAGING");
  });

  // urlAdvice (src/backup/target.ts) upper-cases the env name but keeps its "-", so "eu-prod" is told to
  // set DATABASE_URL_EU-PROD: not a valid variable name, and config only reads DATABASE_URL_EU_PROD.
  // Fix: env.toUpperCase().replace(/-/g, "_") (as cli/argv.ts's unknownEnv already does).
  it("tells a hyphenated env to set DATABASE_URL_EU_PROD", () => {
    const error = refusal(() => resolveTarget(config({}), { env: "eu-prod" }));
    expect(error.hint).toContain("DATABASE_URL_EU_PROD");
  });

  it("passes the configured URL's problems through (6543 from .env is refused too)", () => {
    const error = refusal(() =>
      resolveTarget(
        config({
          prod: {
            url: "postgresql://u:pw@aws-0-x.pooler.supabase.com:6543/postgres",
            source: "DATABASE_URL_PROD",
          },
        }),
        { env: "prod" },
      ),
    );
    expect(error.code).toBe("port_6543");
  });
});
