/**
 * Per-file test databases, cloned from the migrated template that
 * test/global-setup.ts built. Each file gets its own: no shared state.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg, { escapeIdentifier } from 'pg';
import type { Mapping } from '../src/mapping/mapping.ts';
import { DEFAULT_MAPPING } from '../src/sample/generate.ts';
import { afterAll, beforeAll, inject } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { createPool, inDatabase } from '../src/db/connection.ts';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export function databaseUrl(database: string): string {
  return inDatabase(inject('adminUrl'), database);
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: inject('adminUrl') });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A fresh, migrated database of this test file's own. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject('templateDatabase');
  const name = `buyer_sync_test_${process.ppid}_${randomBytes(4).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`create database "${name}" template "${template}"`);
      break;
    } catch (err) {
      // 55006: the template is briefly in use by a concurrent clone.
      if ((err as { code?: string }).code !== '55006' || attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  return handle(name);
}

function handle(name: string): TestDatabase {
  const url = databaseUrl(name);
  const pool = createPool(url, 5);
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await adminQuery(`drop database if exists "${name}" with (force)`);
    },
  };
}

/** This test file's database, as {@link useTestDatabase} hands it out: no `drop`, the helper drops it. */
export interface UsedTestDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  /** The rows of `sql` run on `pool`. */
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
}

/**
 * A database of this test file's own: registers the beforeAll that creates it
 * (see {@link createTestDatabase}) and the afterAll that drops it, and returns
 * a handle that reads the created database, so call it at module top level
 * (or in a describe) before the hooks that use it. Vitest runs afterAll hooks
 * in reverse order of registration (sequence.hooks 'stack', the default), so a
 * file's own afterAll, registered after this call, runs while the database is
 * still there. Touching the handle before the beforeAll has run throws.
 */
export function useTestDatabase(): UsedTestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    const created = db;
    db = undefined;
    // Closed, not dropped: PostgreSQL 15's DROP DATABASE forces an immediate checkpoint of the whole server,
    // which every file's teardown paid while three other files were writing. The global teardown drops them
    // all at the end, together (test/global-setup.ts).
    await created?.pool.end();
  });
  const current = (): TestDatabase => {
    if (!db) throw new Error('the test database exists only between its beforeAll and afterAll');
    return db;
  };
  return {
    get name() {
      return current().name;
    },
    get url() {
      return current().url;
    },
    get pool() {
      return current().pool;
    },
    query: async <T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values: unknown[] = []) =>
      (await current().pool.query<T>(sql, values)).rows,
  };
}

/** Splits a dbmate migration file into its up and down sections. */
export function migrationSections(file: string): { up: string; down: string } {
  const text = readFileSync(path.isAbsolute(file) ? file : path.join(projectRoot, 'db', 'migrations', file), 'utf8');
  const upAt = text.indexOf('-- migrate:up');
  const downAt = text.indexOf('-- migrate:down');
  if (upAt < 0 || downAt < upAt) throw new Error(`${file} is not a dbmate migration`);
  return { up: text.slice(upAt + 13, downAt), down: text.slice(downAt + 15) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Settles when it exits. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Starts the real `buyer-sync` command (bin/buyer-sync.js) in a child process, for commands that keep running (serve). */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): CliProcess {
  // serve listens on PORT: any free port unless a test says otherwise, so parallel files never collide on 5678.
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete childEnv.DASHBOARD_OPERATOR_TOKEN;
  delete childEnv.DASHBOARD_DATABASE_URL;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'buyer-sync.js'), ...args], {
    cwd: projectRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

/** Writes a CSV export (header included) under `dir`, quoting as a spreadsheet would; returns its path. */
let csvFiles = 0;
export function writeCsv(dir: string, rows: string[][]): string {
  const file = path.join(dir, `sheet-${process.pid}-${csvFiles++}.csv`);
  const line = (cells: string[]) =>
    cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',');
  writeFileSync(file, rows.map(line).join('\n'));
  return file;
}

/** Runs the real `buyer-sync` command (bin/buyer-sync.js) in a child process. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const { code, stdout, stderr } = await spawnCli(args, env).done;
  return { code, stdout, stderr };
}

/** Polls `check` until it returns something truthy, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Anything that runs a query: a pool, or one client (of a pool, or of its own). */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Slows every write to the buyers table down: a trigger sleeps `secondsPerRow`
 * per row written (`on` the inserts, or the inserts and updates when the syncs
 * of a test rewrite rows), so a sync of a few hundred rows is still writing when
 * the test stops it mid-run. Returns the function that removes the trigger.
 */
export async function slowWrites(
  db: Queryable,
  secondsPerRow: number,
  on: 'insert' | 'insert or update' = 'insert',
): Promise<() => Promise<void>> {
  if (!Number.isFinite(secondsPerRow) || secondsPerRow <= 0) throw new Error(`not a delay: ${secondsPerRow}`);
  await db.query(`
    create or replace function public.slow_down() returns trigger language plpgsql as $$ begin perform pg_sleep(${secondsPerRow}); return null; end $$;
    create trigger slow_down after ${on} on buyers for each row execute function public.slow_down();`);
  return async () => {
    await db.query('drop trigger slow_down on buyers; drop function public.slow_down()');
  };
}

/**
 * Polls until a sync is writing rows, slowed by {@link slowWrites}: a run is
 * 'running' in sync_runs and a session of the database sleeps in the slow_down
 * trigger. Returns that session's pid (to terminate it, say).
 */
export async function waitUntilWriting(db: Queryable, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    'a sync writing rows',
    async () => {
      const { rows } = await db.query<{ pid: number }>(
        `select pid from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and wait_event = 'PgSleep'
            and exists (select 1 from public.sync_runs where status = 'running')
          limit 1`,
      );
      return rows[0]?.pid;
    },
    timeoutMs,
  );
}

/**
 * Polls until a session of the database waits for a lock that the session
 * `holderPid` holds (pg_locks, through pg_blocking_pids); returns the waiting
 * session's pid.
 */
export async function waitUntilBlockedBy(db: Queryable, holderPid: number, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    `a session waiting for a lock of backend ${holderPid}`,
    async () => {
      const { rows } = await db.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = current_database() and $1::int = any(pg_blocking_pids(pid)) limit 1`,
        [holderPid],
      );
      return rows[0]?.pid;
    },
    timeoutMs,
  );
}

/**
 * Empties every table a sync writes, so a property run starts from a known
 * state. DELETE, not TRUNCATE: on tables of a few dozen rows it is ten times
 * faster (TRUNCATE makes and syncs new files for every table and index), and
 * property tests reset hundreds of times.
 */
export async function resetSyncState(pool: pg.Pool): Promise<void> {
  await pool.query(`delete from public.sync_buyer_changes; delete from public.sync_error_log; delete from public.retry_queue;
    delete from buyer_sync_private.sheet_buyers; delete from buyer_sync_private.sheet_snapshot; delete from public.sync_alerts;
    delete from public.sync_health_metrics; delete from buyer_sync.verification_reports; delete from public.buyers; delete from public.sync_runs;`);
}

/**
 * The runs recorded, in order: a refused or failed run is a failed row with
 * its reason (failure, error type), and nothing of it was written.
 */
export async function recordedRuns(
  pool: pg.Pool,
): Promise<
  { status: string; failure: string | null; error_type: string | null; total_rows: number; inserted: number }[]
> {
  const { rows } = await pool.query(
    `select status, failure, error_type, total_rows, inserted from public.sync_runs order by started_at`,
  );
  return rows;
}

/** The buyers table as `buyer_number -> [mapped values as text, in the mapping's order]` (dates ISO, numbers as digits). */
export async function readBuyers(
  pool: pg.Pool,
  mapping: Mapping = DEFAULT_MAPPING,
): Promise<Map<string, (string | null)[]>> {
  const cells = mapping.columns.map((c) =>
    c.type === 'date' ? `to_char(${escapeIdentifier(c.column)}, 'YYYY-MM-DD')` : `${escapeIdentifier(c.column)}::text`,
  );
  const { rows } = await pool.query<{ k: string; v: (string | null)[] }>(
    `select ${escapeIdentifier(mapping.key)} as k, array[${cells.join(', ')}] as v from public.${escapeIdentifier(mapping.table)}`,
  );
  return new Map(rows.map((r) => [r.k, r.v]));
}

/**
 * A database holding only the given migrations' up sections (no template):
 * for states the full history cannot be rolled back to, such as the legacy
 * buyers table with the schema check installed next to it.
 */
export async function createDatabaseWith(migrationFiles: string[]): Promise<TestDatabase> {
  const name = `buyer_sync_test_${process.ppid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  const db = handle(name);
  for (const f of migrationFiles) await db.pool.query(migrationSections(f).up);
  return db;
}
