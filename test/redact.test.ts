import { describe, expect, it } from "vitest";
import { displayUrl, redactText } from "../src/redact.js";

const SECRET = "Xk9-secret-pw";

describe("redactText", () => {
  it("masks the password of a postgresql:// URL anywhere in a text", () => {
    const text = `pg_dump: error: connection to postgresql://postgres:${SECRET}@db.x.supabase.co:5432/postgres failed`;
    expect(redactText(text)).toBe(
      "pg_dump: error: connection to postgresql://postgres:****@db.x.supabase.co:5432/postgres failed",
    );
  });

  it("masks postgres:// URLs, several in one text, in any case", () => {
    const out = redactText(`from POSTGRES://a:${SECRET}@h1/db to postgresql://b:other-pw@h2:5432/db`);
    expect(out).toBe("from POSTGRES://a:****@h1/db to postgresql://b:****@h2:5432/db");
  });

  it("masks password=… in query strings and libpq keyword strings", () => {
    expect(redactText(`postgresql://u@h/db?sslmode=require&password=${SECRET}`)).toBe(
      "postgresql://u@h/db?sslmode=require&password=****",
    );
    expect(redactText(`host=h port=5432 password=${SECRET} dbname=postgres`)).toBe(
      "host=h port=5432 password=**** dbname=postgres",
    );
  });

  it("leaves a URL without a password as it is", () => {
    const text = "postgresql://postgres@127.0.0.1:5432/postgres";
    expect(redactText(text)).toBe(text);
  });

  it("masks the known secrets wherever they appear, even outside a URL", () => {
    expect(redactText(`FATAL: password authentication failed ("${SECRET}")`, [SECRET])).toBe(
      'FATAL: password authentication failed ("****")',
    );
  });

  it("does not mask secrets too short to be told from ordinary text", () => {
    expect(redactText("a postgres db", ["a", "db"])).toBe("a postgres db");
  });

  // PASSWORD_PARAM starts with \b, so PGPASSWORD=… (no word boundary before "PASSWORD") is not masked:
  // a log line of the child's environment would leak the password. Fix: /\b(\w*password|passwd|pwd)=…/i or
  // an explicit PGPASSWORD alternative in src/backup/redact.ts.
  it("masks PGPASSWORD=… in a text", () => {
    expect(redactText(`env PGPASSWORD=${SECRET} pg_dump -d postgres`)).not.toContain(SECRET);
  });
});

describe("displayUrl", () => {
  it("masks the password and keeps the query", () => {
    expect(
      displayUrl(new URL(`postgresql://postgres:${SECRET}@db.x.supabase.co:5432/postgres?sslmode=require`)),
    ).toBe("postgresql://postgres:****@db.x.supabase.co:5432/postgres?sslmode=require");
  });

  it("drops a password query parameter, keeping the others", () => {
    const shown = displayUrl(
      new URL(`postgresql://u@h:5432/db?sslmode=require&password=${SECRET}&application_name=x`),
    );
    expect(shown).not.toContain(SECRET);
    expect(shown).toContain("sslmode=require");
    expect(shown).toContain("application_name=x");
  });

  it("does not change the URL it was given", () => {
    const url = new URL(`postgresql://u:${SECRET}@h:5432/db`);
    displayUrl(url);
    expect(url.password).toBe(SECRET);
  });
});
