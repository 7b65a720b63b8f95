/**
 * Opening the database: DATABASE_URL when set, otherwise the embedded server.
 * Every way a connection can fail becomes one line that names the host, the
 * database and what went wrong (exit 3), never a stack trace.
 */
import pg from 'pg';
import { CannotRunError } from '../errors.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresConfig, type EmbeddedServer } from './embedded.ts';
import { ensureDatabase } from './ensure-database.ts';

export interface Database {
  url: string;
  pool: pg.Pool;
  /** Set when this process uses the embedded server. */
  embedded: EmbeddedServer | null;
  close(): Promise<void>;
}

interface Target {
  host: string;
  port: string;
  database: string;
  user: string;
}

export function describeTarget(url: string): Target {
  const u = new URL(url);
  return {
    host: u.hostname || (u.searchParams.get('host') ?? 'localhost'),
    port: u.port || '5432',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)',
    user: decodeURIComponent(u.username) || '(default)',
  };
}

/** The same connection string, naming another database on the same server. */
export function inDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** host:port/database of a connection string, without credentials; null when it does not parse. */
export function targetLabel(url: string): string | null {
  try {
    const t = describeTarget(url);
    return `${t.host}:${t.port}/${t.database}`;
  } catch {
    return null;
  }
}

/** Turns a connection failure into the one line the operator reads. */
export function connectionError(url: string, err: unknown): CannotRunError {
  let target: Target;
  try {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error('scheme');
    target = describeTarget(url);
  } catch {
    return new CannotRunError(
      'DATABASE_URL is not a PostgreSQL connection string (expected postgres://user:password@host:port/database)',
      { cause: err },
    );
  }
  const e = err as { code?: string; message?: string };
  const reason =
    {
      ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'host name lookup failed',
      ETIMEDOUT: 'connection timed out',
      EHOSTUNREACH: 'host unreachable',
      ECONNRESET: 'connection reset by the server',
      '28P01': 'password authentication failed',
      '28000': 'the server rejected the login (check the user name and pg_hba.conf)',
      '3D000': 'the database does not exist (run `buyer-sync migrate` to create it)',
      '53300': 'the server has too many connections',
      '57P03': 'the server is starting up or shutting down',
    }[e.code ?? ''] ??
    (e.message?.includes('timeout') ? 'connection timed out' : (e.message ?? String(err)).split('\n')[0]);
  return new CannotRunError(
    `cannot connect to PostgreSQL at ${target.host}:${target.port} (database "${target.database}", user "${target.user}"): ${reason}`,
    { cause: err },
  );
}

export function createPool(url: string, max = 10): pg.Pool {
  // application_name: an operator sees buyer-sync's sessions in pg_stat_activity by name.
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 10_000,
    application_name: 'buyer-sync',
  });
  // An idle client losing its connection must not crash the process; the next
  // query reconnects, and a query in flight sees its own error.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Checks the database answers; throws the one-line CannotRunError when it does not. */
export async function ping(url: string, pool: pg.Pool): Promise<void> {
  try {
    await pool.query('select 1');
  } catch (err) {
    throw connectionError(url, err);
  }
}

export interface OpenOptions {
  log?: (line: string) => void;
  /** Create the database when it does not exist yet (migrate does). */
  createIfMissing?: boolean;
}

/** What opening the database needs of the configuration: a server's URL, or where the embedded one runs. */
export interface DatabaseSettings {
  /** DATABASE_URL, or null: the embedded server. */
  databaseUrl: string | null;
  embedded: EmbeddedPostgresConfig;
}

export async function openDatabase(config: DatabaseSettings, options: OpenOptions = {}): Promise<Database> {
  let embedded: EmbeddedServer | null = null;
  let url: string;
  if (config.databaseUrl !== null) {
    url = config.databaseUrl;
    if (options.createIfMissing) await createDatabaseIfMissing(url);
  } else {
    embedded = await startEmbeddedPostgres(config.embedded, options.log ? { log: options.log } : {});
    url = embedded.url;
  }
  let pool: pg.Pool;
  try {
    pool = createPool(url);
  } catch (err) {
    await embedded?.stop();
    throw connectionError(url, err);
  }
  try {
    await ping(url, pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
  let closed = false;
  return {
    url,
    pool,
    embedded,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** Connects to the server's `postgres` database and creates the target database if absent. */
export async function createDatabaseIfMissing(url: string): Promise<void> {
  let probe: pg.Client;
  try {
    probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  } catch (err) {
    throw connectionError(url, err);
  }
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => undefined);
    if ((err as { code?: string }).code !== '3D000') throw connectionError(url, err);
  }
  const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  const admin = inDatabase(url, 'postgres');
  try {
    await ensureDatabase(admin, database);
  } catch (err) {
    throw connectionError(admin, err);
  }
}
