import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { type ScratchServer, startScratchServer } from "../../src/restore/scratch-server.js";

export type { ScratchServer };

const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

/** A throwaway Postgres of one major on 127.0.0.1 (trust auth, user postgres). Stop it in afterAll. */
export function startTestServer(major: number, settings?: Record<string, string>): Promise<ScratchServer> {
  return startScratchServer(settings ? { major, settings } : { major });
}

/**
 * One server for the whole suite: started in beforeAll, stopped in afterAll.
 * Call at the top of a describe; read `.server` inside tests.
 */
export function useTestServer(
  major: number,
  settings?: Record<string, string>,
): { readonly server: ScratchServer } {
  let current: ScratchServer | undefined;
  beforeAll(async () => {
    current = await startTestServer(major, settings);
  });
  afterAll(async () => {
    await current?.stop();
  });
  return {
    get server(): ScratchServer {
      if (!current)
        throw new Error(`the Postgres ${major} test server is not running (used outside a test?)`);
      return current;
    },
  };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Runs `fn` with a connected client, always closing it. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {}); // a server stopped under an idle client must not crash the run
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One query on a fresh connection; returns its rows. Without params, `text` may hold several statements. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  params?: unknown[],
): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(text, params)).rows);
}

/** Backend pids of the connections named `application` on the database at `url` (e.g. workers listening for jobs). */
export async function connectionsNamed(url: string, application: string): Promise<number[]> {
  const rows = await sql<{ pid: number }>(
    url,
    "select pid from pg_stat_activity where application_name = $1 and datname = current_database()",
    [application],
  );
  return rows.map((r) => r.pid);
}

/** Creates a database on the server and returns its URL. */
export async function createDatabase(server: ScratchServer, name: string): Promise<string> {
  await sql(server.url(), `create database ${quoteIdent(name)}`);
  return server.url(name);
}

const demoDir = path.join(fixturesDir, "..", "..", "src", "demo");
/**
 * The Supabase-shaped sample is also `npm run demo`'s, so it lives with the demo's code: the
 * platform's part (what a fresh project has) and the user's part loaded after it.
 */
const SHIPPED_FIXTURES: Record<string, string[]> = {
  supabase: [path.join(demoDir, "supabase-platform.sql"), path.join(demoDir, "supabase-sample.sql")],
  "supabase-platform": [path.join(demoDir, "supabase-platform.sql")],
  "supabase-sample": [path.join(demoDir, "supabase-sample.sql")],
};

export function fixturePaths(fixtureName: string): string[] {
  const shipped = SHIPPED_FIXTURES[fixtureName.replace(/\.sql$/, "")];
  if (shipped) return shipped;
  return [path.join(fixturesDir, fixtureName.endsWith(".sql") ? fixtureName : `${fixtureName}.sql`)];
}

/** Runs a fixture's .sql files in one round trip (simple query protocol, one implicit transaction). */
export async function loadFixture(url: string, fixtureName: string): Promise<void> {
  await sql(
    url,
    fixturePaths(fixtureName)
      .map((file) => readFileSync(file, "utf8"))
      .join("\n"),
  );
}

export interface Claims {
  /** The role to act as, e.g. "anon" or "authenticated". */
  role: string;
  /** The JWT `sub` claim that auth.uid() returns. */
  sub?: string;
}

/**
 * A query as a Supabase API role would run it: `set local role` plus the JWT sub claim, in a
 * transaction that is rolled back, so RLS policies and grants apply and nothing sticks.
 */
export async function sqlAs<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  claims: Claims,
  text: string,
  params?: unknown[],
): Promise<R[]> {
  return withClient(url, async (client) => {
    await client.query("begin");
    try {
      await client.query("select set_config('request.jwt.claim.sub', $1, true)", [claims.sub ?? ""]);
      await client.query(`set local role ${quoteIdent(claims.role)}`);
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.query("rollback").catch(() => {});
    }
  });
}

/**
 * Runs the machine's psql on a script fed through stdin (quiet, unaligned, tuples only, stop on the
 * first error) and returns its stdout; a failing script rejects with psql's stderr in the message.
 */
export async function psql(url: string, script: string, extraArgs: string[] = []): Promise<string> {
  const { stdout } = await execa(
    "psql",
    ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, ...extraArgs, "-f", "-"],
    { input: script, env: { PGCONNECT_TIMEOUT: "5" } },
  );
  return stdout;
}

/** psql as an API role (see sqlAs), in a transaction that is rolled back. */
export function psqlAs(url: string, claims: Claims, script: string): Promise<string> {
  const sub = (claims.sub ?? "").replace(/'/g, "''");
  return psql(
    url,
    [
      "begin;",
      `set local "request.jwt.claim.sub" = '${sub}';`,
      `set local role ${quoteIdent(claims.role)};`,
      script.trim().endsWith(";") ? script : `${script};`,
      "rollback;",
    ].join("\n"),
  );
}

// ---------------------------------------------------------------------------------------------
// What a database holds, counted the way supabase.expected.json counts it
// ---------------------------------------------------------------------------------------------

const USER_NAMESPACE = `n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'`;
const notExtensionMember = (catalog: string, oid: string) =>
  `not exists (select 1 from pg_depend d
     where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;
const relkindCount = (kinds: string) =>
  `(select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind in (${kinds}) and ${USER_NAMESPACE} and ${notExtensionMember("pg_class", "c.oid")})`;

export interface CatalogCounts {
  /** relkind r and p (partitions count as tables), outside system schemas, not extension members. */
  tables: number;
  partitionedTables: number;
  views: number;
  materializedViews: number;
  policies: number;
  /** Rows of pg_extension, plpgsql included. */
  extensions: number;
  functions: number;
  sequences: number;
  securityInvokerViews: number;
}

export interface CatalogSummary {
  serverMajor: number;
  counts: CatalogCounts;
  extensions: string[];
  /** schema.name of views with security_invoker=true. */
  securityInvokerViews: string[];
  /** Every view's reloptions as Postgres stores them (e.g. "security_invoker=true"), keyed schema.name. */
  viewReloptions: Record<string, string[]>;
  /** Exact row counts of every relkind r table (partitions on their own), keyed schema.name. */
  rowCounts: Record<string, number>;
}

const TRUE_WORDS = new Set(["true", "on", "yes", "1"]);

function isSecurityInvokerTrue(option: string): boolean {
  const [key, value] = option.split("=");
  return key === "security_invoker" && value !== undefined && TRUE_WORDS.has(value.toLowerCase());
}

export async function catalogSummary(url: string): Promise<CatalogSummary> {
  return withClient(url, async (client) => {
    const counts = await client.query<Omit<CatalogCounts, "securityInvokerViews"> & { num: string }>(
      `select current_setting('server_version_num') as num,
         ${relkindCount("'r', 'p'")} as tables,
         ${relkindCount("'p'")} as "partitionedTables",
         ${relkindCount("'v'")} as views,
         ${relkindCount("'m'")} as "materializedViews",
         ${relkindCount("'S'")} as sequences,
         (select count(*)::int from pg_policy p join pg_class c on c.oid = p.polrelid
            join pg_namespace n on n.oid = c.relnamespace
           where ${USER_NAMESPACE} and ${notExtensionMember("pg_class", "c.oid")}) as policies,
         (select count(*)::int from pg_extension) as extensions,
         (select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where ${USER_NAMESPACE} and ${notExtensionMember("pg_proc", "p.oid")}) as functions`,
    );
    const extensions = await client.query<{ name: string }>(
      "select extname as name from pg_extension order by 1",
    );
    const views = await client.query<{ name: string; reloptions: string[] | null }>(
      `select n.nspname || '.' || c.relname as name, c.reloptions
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'v' and ${USER_NAMESPACE} and ${notExtensionMember("pg_class", "c.oid")}
        order by 1`,
    );
    const viewReloptions: Record<string, string[]> = {};
    const securityInvokerViews: string[] = [];
    for (const v of views.rows) {
      viewReloptions[v.name] = v.reloptions ?? [];
      if (viewReloptions[v.name]?.some(isSecurityInvokerTrue)) securityInvokerViews.push(v.name);
    }
    const tables = await client.query<{ schema: string; name: string }>(
      `select n.nspname as schema, c.relname as name
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and ${USER_NAMESPACE} and ${notExtensionMember("pg_class", "c.oid")}
        order by 1, 2`,
    );
    const rowCounts: Record<string, number> = {};
    for (const t of tables.rows) {
      const r = await client.query<{ n: number }>(
        `select count(*)::int as n from only ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
      );
      rowCounts[`${t.schema}.${t.name}`] = r.rows[0]?.n ?? 0;
    }
    const { num, ...rest } = counts.rows[0]!;
    return {
      serverMajor: Math.floor(Number(num) / 10_000),
      counts: { ...rest, securityInvokerViews: securityInvokerViews.length },
      extensions: extensions.rows.map((e) => e.name),
      securityInvokerViews,
      viewReloptions,
      rowCounts,
    };
  });
}

/** The shape of test/fixtures/<name>.expected.json. */
interface ExpectedFile {
  fixture: string;
  counts: CatalogCounts;
  extensions: string[];
  securityInvokerViews: string[];
  viewReloptions: Record<string, string[]>;
  rowCounts: Record<string, number>;
  /** Differences on some majors, e.g. {"14": {"counts": {"securityInvokerViews": 0}, ...}}. */
  byMajor?: Record<
    string,
    {
      counts?: Partial<CatalogCounts>;
      securityInvokerViews?: string[];
      viewReloptions?: Record<string, string[]>;
    }
  >;
}

export type ExpectedFixture = Omit<CatalogSummary, "serverMajor">;

/** What a fixture holds once loaded on a server of `major`. */
export function expectedFixture(fixtureName: string, major: number): ExpectedFixture {
  const file = path.join(fixturesDir, `${fixtureName.replace(/\.sql$/, "")}.expected.json`);
  const expected = JSON.parse(readFileSync(file, "utf8")) as ExpectedFile;
  const override = expected.byMajor?.[String(major)];
  return {
    counts: { ...expected.counts, ...override?.counts },
    extensions: expected.extensions,
    securityInvokerViews: override?.securityInvokerViews ?? expected.securityInvokerViews,
    viewReloptions: override?.viewReloptions ?? expected.viewReloptions,
    rowCounts: expected.rowCounts,
  };
}
