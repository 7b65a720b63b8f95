/**
 * `migrate`: installs graphile-worker's schema with its own installer, then
 * applies db/migrations with dbmate. The worker schema comes first so that our
 * SQL functions can call graphile_worker.add_job from their first migration.
 * Both steps are idempotent.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolveBinary } from 'dbmate';
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';

export interface MigrateResult {
  /** dbmate migrations applied by this call, in order (file names). */
  applied: string[];
}

/**
 * lib/pq (inside dbmate) requires TLS unless told otherwise, while node-postgres
 * does not use it unless told to. Make dbmate follow the same URL the same way.
 */
export function dbmateUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

export interface DbmateOptions {
  url: string;
  migrationsDir: string;
  schemaFile?: string;
}

/** Runs the dbmate binary; resolves with stdout, rejects with dbmate's own error line. */
export function runDbmate(args: string[], opts: DbmateOptions): Promise<string> {
  const fullArgs = [
    '--url',
    dbmateUrl(opts.url),
    '--migrations-dir',
    opts.migrationsDir,
    ...(opts.schemaFile ? ['--schema-file', opts.schemaFile] : []),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(resolveBinary(), fullArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // dbmate would read .env and DATABASE_URL itself; we always pass --url.
      env: { ...process.env, DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new CannotRunError(`could not run dbmate: ${err.message}`, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout);
      const message = (stderr.trim() || stdout.trim()).split('\n').filter(Boolean).pop() ?? `exit ${code}`;
      const applying = [...stdout.matchAll(/^Applying: (.+)$/gm)].pop()?.[1];
      reject(
        new CannotRunError(
          `dbmate ${args[0]} failed${applying ? ` in ${applying}` : ''}: ${message.replace(/^Error: /, '')}`,
        ),
      );
    });
  });
}

export async function migrate(
  url: string,
  pool: pg.Pool,
  migrationsDir: string,
  log: (line: string) => void = () => undefined,
): Promise<MigrateResult> {
  try {
    // Loaded here, not with the module: every command asks pendingMigrations(), few install.
    const { Logger, runMigrations } = await import('graphile-worker');
    const logger = new Logger(() => (level, message) => {
      if (level === 'error' || level === 'warning') log(`graphile-worker: ${message}`);
    });
    await runMigrations({ pgPool: pool, logger });
  } catch (err) {
    throw new CannotRunError(`installing the graphile-worker schema failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const out = await runDbmate(['--no-dump-schema', 'migrate'], { url, migrationsDir });
  return { applied: [...out.matchAll(/^Applied: (\S+)/gm)].map((m) => m[1] ?? '') };
}

/** Migration files in the directory that the database has not applied (by dbmate's version). */
export async function pendingMigrations(pool: pg.Pool, migrationsDir: string): Promise<string[]> {
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  const { rows: exists } = await pool.query<{ t: string | null }>(
    `select to_regclass('public.schema_migrations')::text as t`,
  );
  if (exists[0]?.t === null) return files;
  const { rows } = await pool.query<{ version: string }>('select version from public.schema_migrations');
  const applied = new Set(rows.map((r) => r.version));
  return files.filter((f) => !applied.has(f.split('_')[0]!));
}
