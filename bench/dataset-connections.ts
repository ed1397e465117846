/** The bench's connections to its database: refuse a remote or non-empty one, open a pool, share work. */
import pg from "pg";
import { generatorFunctions } from "./dataset-generators.js";

/** Run tasks over `workers` connections, each task on whichever connection is free. */
export async function runPool<T>(
  clients: pg.Client[],
  tasks: T[],
  run: (client: pg.Client, task: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      // Bounded: each worker takes at most tasks.length tasks.
      for (let taken = 0; taken < tasks.length; taken++) {
        const index = next++;
        const task = tasks[index];
        if (task === undefined) return;
        await run(client, task);
      }
    }),
  );
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!name) throw new Error(`The bench URL names no database: ${url}`);
  return name;
}

export function assertLocal(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`The bench only creates databases on a local server, not on ${host}.`);
  }
}

/** Create the database the URL names (on the same server) if it doesn't exist; refuse one that has tables. */
export async function ensureEmptyDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      return;
    }
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    );
    const n: unknown = tables.rows[0]?.n;
    if (typeof n === "number" && n > 0) {
      throw new Error(
        `Database ${name} already has ${n} tables; the bench fills only a new, empty database.`,
      );
    }
  } finally {
    await client.end();
  }
}

export async function connect(url: string, count: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const client = new pg.Client({ connectionString: url });
      clients.push(client);
      await client.connect();
      await client.query(
        "SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '64MB'; SET jit = off",
      );
      for (const sql of generatorFunctions()) await client.query(sql);
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    throw error;
  }
  return clients;
}
