import { createHash } from "node:crypto";
import type pg from "pg";
import { DbBackupError, isDbBackupError } from "../errors.js";
import {
  currentInstance,
  type InstanceIdentity,
  judgeLiveness,
  type Liveness,
  localProbe,
} from "./instance.js";
import { stateLocation, stateUnreachable } from "./pg-errors.js";
import { leaseFromRow, PgLease } from "./pg-lease.js";
import { migrate, STATE_LOCK } from "./pg-schema.js";
import type { DocSpec, LogName, StateStore, StateTx } from "./store.js";

export interface PgStateOptions {
  leaseMs: number;
}

type Queryable = Pick<pg.ClientBase, "query">;

/**
 * The state in a Postgres database of its own, shared by every bot replica and worker: a document is
 * a row changed inside a transaction that holds one advisory lock (so every writer, on any host,
 * takes its turn), logs are rows appended, a request claim is an insert that may conflict, and an
 * instance's lease a row whose times are the database's clock.
 */
export class PgStateStore implements StateStore {
  readonly location: string;
  private pooled: Promise<pg.Pool> | undefined;
  private migrated: Promise<void> | undefined;
  private lease: PgLease | undefined;
  private readonly lostListeners = new Set<(why: string) => void>();

  constructor(
    private readonly url: string,
    private readonly options: PgStateOptions,
  ) {
    this.location = stateLocation(url);
  }

  /** The connection pool, made on first use: pg is loaded only by a process that uses the state database. */
  private pool(): Promise<pg.Pool> {
    this.pooled ??= import("pg").then(({ default: pgModule }) => {
      const pool = new pgModule.Pool({
        connectionString: this.url,
        max: 6,
        connectionTimeoutMillis: 10_000,
        idleTimeoutMillis: 10_000,
        // An idle pool never keeps a CLI from exiting.
        allowExitOnIdle: true,
        application_name: "dbbackup state",
      });
      // A connection dropped while idle (the database restarted) is replaced on the next use.
      pool.on("error", () => {});
      return pool;
    });
    return this.pooled;
  }

  /** One statement on any pooled connection, once the schema is there; a failure to reach the database says so. */
  async sql<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ready();
    return this.query<R>(text, values);
  }

  /** One statement on any pooled connection; a failure to reach the database says so. */
  private async query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const pool = await this.pool();
    return pool.query<R>(text, values).catch((e: unknown) => {
      throw this.unreachable(e);
    });
  }

  /** A connection outside the pool, unconnected, for one that is held (a LISTEN); its user ends it. */
  async ownClient(applicationName: string): Promise<pg.Client> {
    const { default: pgModule } = await import("pg");
    const options = { connectionString: this.url, connectionTimeoutMillis: 10_000, keepAlive: true };
    return new pgModule.Client({ ...options, application_name: applicationName });
  }

  instance(): InstanceIdentity {
    return currentInstance();
  }

  /** The schema is there, and this instance's lease row when it holds one. */
  private async ready(): Promise<void> {
    this.migrated ??= this.withClient((client) => migrate(client).then(() => {})).catch((error: unknown) => {
      this.migrated = undefined;
      throw error;
    });
    await this.migrated;
    await this.lease?.ensure().catch((error: unknown) => {
      throw this.unreachable(error);
    });
  }

  private async withClient<R>(fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    let client: pg.PoolClient;
    try {
      client = await (await this.pool()).connect();
    } catch (error) {
      throw this.unreachable(error);
    }
    // A connection lost while checked out errors on the client: its query fails, and it is not reused.
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on("error", onError);
    try {
      return await fn(client);
    } catch (error) {
      lost ??= isDbBackupError(error) && error.code === "state_unreachable" ? error : undefined;
      throw error;
    } finally {
      client.off("error", onError);
      client.release(lost ?? false);
    }
  }

  private unreachable(error: unknown): DbBackupError {
    return stateUnreachable(this.location, error);
  }

  private async readWith<T>(client: Queryable, doc: DocSpec<T>): Promise<T> {
    const r = await client
      .query<{ value: unknown }>("select value from dbbackup_docs where name = $1", [doc.name])
      .catch((e: unknown) => {
        throw this.unreachable(e);
      });
    if (r.rows.length === 0) return doc.empty();
    const parsed = doc.schema.safeParse(r.rows[0]?.value);
    if (!parsed.success)
      throw new DbBackupError(
        "state_damaged",
        `The state document ${doc.name} in ${this.location} is damaged (${parsed.error.issues[0]?.message ?? "invalid"}); dbbackup never writes it that way.`,
        `Look at it (select value from dbbackup_docs where name = '${doc.name}'), then delete that row and dbbackup starts it afresh.`,
      );
    return parsed.data;
  }

  async read<T>(doc: DocSpec<T>): Promise<T> {
    await this.ready();
    return this.withClient((client) => this.readWith(client, doc));
  }

  async transact<R>(fn: (tx: StateTx) => Promise<R>): Promise<R> {
    await this.ready();
    return this.withClient(async (client) => {
      const staged = new Map<string, { doc: DocSpec<unknown>; value: unknown }>();
      const tx: StateTx = {
        read: async <T>(doc: DocSpec<T>): Promise<T> => {
          const pending = staged.get(doc.name);
          return pending ? (pending.value as T) : this.readWith(client, doc);
        },
        write: async <T>(doc: DocSpec<T>, value: T): Promise<void> => {
          staged.set(doc.name, { doc: doc as DocSpec<unknown>, value: doc.schema.parse(value) });
        },
      };
      const run = (text: string, values?: unknown[]) =>
        client.query(text, values).catch((e: unknown) => {
          throw this.unreachable(e);
        });
      await run("begin");
      try {
        await run("select pg_advisory_xact_lock($1)", [STATE_LOCK]);
        const result = await fn(tx);
        for (const { doc, value } of staged.values())
          await run(
            `insert into dbbackup_docs (name, value, updated_at) values ($1, $2, now())
             on conflict (name) do update set value = excluded.value, updated_at = now()`,
            [doc.name, JSON.stringify(value)],
          );
        await run("commit");
        return result;
      } catch (error) {
        // Nothing is written when fn throws or the database goes away: the transaction never commits.
        await client.query("rollback").catch(() => {});
        throw error;
      }
    });
  }

  async append(log: LogName, record: Record<string, unknown>): Promise<void> {
    await this.ready();
    await this.query("insert into dbbackup_logs (log, record) values ($1, $2)", [
      log,
      JSON.stringify(record),
    ]);
  }

  async readLog(log: LogName): Promise<unknown[]> {
    await this.ready();
    const r = await this.query<{ record: unknown }>(
      "select record from dbbackup_logs where log = $1 order by id",
      [log],
    );
    return r.rows.map((row) => row.record);
  }

  async claimOnce(key: string, ttlMs: number): Promise<boolean> {
    await this.ready();
    // The key's hash: a request's text is never stored.
    const hashed = createHash("sha256").update(key).digest("hex");
    const r = await this.query(
      `insert into dbbackup_claims (key, expires_at) values ($1, now() + $2 * interval '1 millisecond')
         on conflict (key) do update set expires_at = excluded.expires_at
          where dbbackup_claims.expires_at < now()`,
      [hashed, ttlMs],
    );
    return r.rowCount === 1;
  }

  async sweepClaims(now = Date.now()): Promise<number> {
    await this.ready();
    const r = await this.query(
      "delete from dbbackup_claims where expires_at < to_timestamp($1::float8 / 1000)",
      [now],
    );
    return r.rowCount ?? 0;
  }

  holdLease(role: string): void {
    if (this.lease?.held) return;
    this.lease = new PgLease(() => this.pool(), {
      leaseMs: this.options.leaseMs,
      role,
      onLost: (why) => {
        for (const listener of this.lostListeners) listener(why);
      },
    });
    this.lease.start();
  }

  private async leaseRows(id?: string) {
    await this.ready();
    const r = await this.query<{
      id: string;
      record: unknown;
      renewed_at: Date;
      expires_at: Date;
      now: Date;
    }>(
      `select id, record, renewed_at, expires_at, now() as now from dbbackup_instances
          where $1::text is null or id = $1`,
      [id ?? null],
    );
    return r.rows;
  }

  async liveness(id: string): Promise<Liveness> {
    const [row] = await this.leaseRows(id);
    // Judged by the database's clock: the record's times and "now" come from the same place.
    const now = row ? row.now.getTime() : Date.now();
    return judgeLiveness(row ? leaseFromRow(row) : undefined, now, localProbe());
  }

  async instances(): Promise<{ id: string; liveness: Liveness }[]> {
    const rows = await this.leaseRows();
    return rows.map((row) => ({
      id: row.id,
      liveness: judgeLiveness(leaseFromRow(row), row.now.getTime(), localProbe()),
    }));
  }

  async forgetInstance(id: string): Promise<void> {
    if ((await this.liveness(id)).state === "dead")
      await this.query("delete from dbbackup_instances where id = $1", [id]);
  }

  onLeaseLost(listener: (why: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async close(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await lease?.remove().catch(() => {});
  }
}

const stores = new Map<string, PgStateStore>();

/** One store per state database in a process, so its pool and lease are shared. */
export function pgStateFor(url: string, options: PgStateOptions): PgStateStore {
  let store = stores.get(url);
  if (!store) {
    store = new PgStateStore(url, options);
    stores.set(url, store);
  }
  return store;
}
