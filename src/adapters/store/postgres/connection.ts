import pg from 'pg';
import { StoreUnavailableError, StreamConflictError } from '../../../ports/store.js';

export interface PostgresOptions {
  url: string;
  /** Connections per instance; the fleet's total must stay under the server's max_connections. */
  poolMax?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export const DEFAULT_POOL_MAX = 10;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** SQLSTATEs that mean the server or the connection went away, not that the query was wrong. */
const UNAVAILABLE_STATES = /^(08|57P0[123]|53|58)/;

/** One pool per store. Every query goes through run(), which translates driver errors at the edge. */
export class PostgresConnection {
  readonly pool: pg.Pool;
  private closed = false;
  private ended: Promise<void> = Promise.resolve();
  /** Calls started before close(), which waits for them before ending the pool. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: PostgresOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax ?? DEFAULT_POOL_MAX,
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      application_name: 'paylog',
    });
    // An idle client losing its connection (the server restarted) must not crash the process.
    this.pool.on('error', () => undefined);
  }

  async query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return this.run(() => this.pool.query<R>(config));
  }

  /**
   * Runs fn in one transaction on one client; rolls back on any error. `opening`, a statement
   * without parameters, is sent with BEGIN in the same round trip, and fn gets its result.
   */
  async transaction<T>(fn: (client: pg.PoolClient, opened: pg.QueryResult | null) => Promise<T>, opening?: string): Promise<T> {
    return this.run(async () => {
      const client = await this.pool.connect();
      let broken = false;
      // A checked-out client has no idle listener: the server ending its connection between two
      // queries (a restart: 57P01) would emit 'error' with no one listening and crash the process.
      // The next query on it then fails as unavailable, and it is released as broken.
      const onError = (): void => { broken = true; };
      client.on('error', onError);
      try {
        // A simple query of two statements answers with the result of each.
        const opened = opening === undefined ? (await client.query('BEGIN'), null) : (await client.query(`BEGIN; ${opening}`) as unknown as pg.QueryResult[])[1] ?? null;
        const result = await fn(client, opened);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken = isConnectionError(err);
        if (!broken) await client.query('ROLLBACK').catch(() => { broken = true; });
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    });
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('PostgreSQL store is closed');
    const call = fn();
    this.inFlight.add(call);
    try {
      return await call;
    } catch (err) {
      throw translate(err);
    } finally {
      this.inFlight.delete(call);
    }
  }

  /**
   * Refuses new calls at once, lets calls already running finish (each is bounded by the
   * statement timeout), then ends the pool: a call racing close() either completes or fails
   * as unavailable, and never waits on a pool that was ended under it.
   */
  async close(): Promise<void> {
    if (this.closed) return this.ended;
    this.closed = true;
    this.ended = Promise.allSettled([...this.inFlight]).then(() => this.pool.end());
    return this.ended;
  }
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (UNAVAILABLE_STATES.test(e.code) || /^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)/.test(e.code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Cannot use a pool after calling end|Client was closed/i.test(e?.message ?? '');
}

/** Driver errors become port errors; neither SQL text nor credentials reach a message. */
export function translate(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || err instanceof StreamConflictError) return err;
  const code = (err as { code?: string })?.code;
  if (isConnectionError(err)) return new StoreUnavailableError(`PostgreSQL store unavailable (${code ?? 'connection'})`, { cause: err });
  if (code === '23505') return new StreamConflictError('a row with that key already exists');
  if (typeof code === 'string') return new StoreUnavailableError(`PostgreSQL store failed (${code})`, { cause: err });
  return err;
}
