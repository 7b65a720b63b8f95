/**
 * The command line as users run it: a real child process, a real database,
 * the contract's exit codes and JSON shapes.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { runCli, useTestDatabase } from './helpers.ts';

const db = useTestDatabase();
let migrationsDir: string;
beforeAll(() => {
  // --fix writes into the migrations directory: give it a copy, never the real one.
  migrationsDir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-migrations-'));
  cpSync(path.join(projectRoot, 'db', 'migrations'), migrationsDir, { recursive: true });
});
afterAll(() => rmSync(migrationsDir, { recursive: true, force: true }));

const env = () => ({ DATABASE_URL: db.url, BUYER_SYNC_MIGRATIONS_DIR: migrationsDir });

describe('migrate', () => {
  it('is idempotent on a migrated database', async () => {
    const r = await runCli(['migrate'], env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('up to date');
    expect(r.code).toBe(0);
  });

  it('creates the database when it does not exist yet, then applies everything', async () => {
    const fresh = `${db.name}_fresh`;
    const url = db.url.replace(db.name, fresh);
    try {
      const r = await runCli(['migrate'], { DATABASE_URL: url });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Applied 050_buyers_text_columns.sql');
      const check = await runCli(['check-schema', '--json'], { DATABASE_URL: url });
      expect(JSON.parse(check.stdout)).toEqual({ valid: true, errors: [], non_text_fields: [] });
      const { rows } = await db.pool.query(`select 1`); // keeps the pool honest
      expect(rows).toHaveLength(1);
    } finally {
      await db.pool.query(`drop database if exists "${fresh}" with (force)`).catch(() => undefined);
      const admin = await import('pg');
      const c = new admin.default.Client({ connectionString: db.url.replace(db.name, 'postgres') });
      await c.connect();
      await c.query(`drop database if exists "${fresh}" with (force)`);
      await c.end();
    }
  });
});

describe('graphile-worker', () => {
  it('its schema is installed by migrate, so SQL can enqueue jobs', async () => {
    await db.pool.query(`select graphile_worker.add_job('buyers__sync', '{}'::json, job_key := 'probe')`);
    const { rows } = await db.pool.query(`select task_identifier, key from graphile_worker.jobs`);
    expect(rows).toEqual([{ task_identifier: 'buyers__sync', key: 'probe' }]);
    await db.pool.query(`select graphile_worker.remove_job('probe')`);
  });
});

describe('check-schema', () => {
  it('passes with exit 0 and the contract JSON', async () => {
    const r = await runCli(['check-schema', '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, errors: [], non_text_fields: [] });
  });

  it('fails with exit 1 naming a varchar(50) column; --fix writes a migration that makes it pass', async () => {
    await db.pool.query(`alter table buyers add column referrer varchar(50)`);
    const failed = await runCli(['check-schema', '--json'], env());
    expect(failed.code).toBe(1);
    const body = JSON.parse(failed.stdout);
    expect(body).toEqual({
      valid: false,
      errors: [expect.stringContaining('buyers.referrer is character varying(50)')],
      non_text_fields: [
        { table: 'buyers', column_name: 'referrer', data_type: 'character varying', character_maximum_length: 50 },
      ],
    });

    const human = await runCli(['check-schema'], env());
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('buyers.referrer is character varying(50)');

    const before = new Set(readdirSync(migrationsDir));
    const fixed = await runCli(['check-schema', '--fix', '--json'], env());
    expect(fixed.code).toBe(1);
    const file = JSON.parse(fixed.stdout).migration_file as string;
    const added = readdirSync(migrationsDir).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^\d{14}_convert_non_text_columns_to_text\.sql$/);
    expect(path.basename(file)).toBe(added[0]);
    expect(readFileSync(path.join(migrationsDir, added[0]!), 'utf8')).toContain('alter column "referrer" type text');

    const migrated = await runCli(['migrate'], env());
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain(`Applied ${added[0]}`);
    const passed = await runCli(['check-schema', '--json'], env());
    expect(passed.code).toBe(0);
    expect(JSON.parse(passed.stdout).valid).toBe(true);
  });
});

describe('failures are one clear line with the right exit code', () => {
  it.each([
    [
      'postgres://someone@127.0.0.1:1/buyers',
      /^buyer-sync: cannot connect to PostgreSQL at 127\.0\.0\.1:1 \(database "buyers", user "someone"\): connection refused/,
    ],
    [
      'postgres://someone@no-such-host.invalid:5432/buyers',
      /^buyer-sync: cannot connect to PostgreSQL at no-such-host\.invalid:5432 .*host (not found|name lookup failed)/,
    ],
    ['not a url', /^buyer-sync: DATABASE_URL is not a PostgreSQL connection string/],
  ])('DATABASE_URL=%s: exit 3', async (url, message) => {
    for (const command of [['migrate'], ['check-schema', '--json']]) {
      const r = await runCli(command, { DATABASE_URL: url });
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it('a missing database is named, with what to do', async () => {
    const r = await runCli(['check-schema'], { DATABASE_URL: db.url.replace(db.name, `${db.name}_nope`) });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the database does not exist (run `buyer-sync migrate` to create it)');
  });

  it.each([[['frobnicate']], [['check-schema', '--frob']], [[]]])('usage error %j: exit 2', async (args) => {
    const r = await runCli(args, env());
    expect(r.code).toBe(2);
  });

  it('--help lists the working commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('migrate');
    expect(r.stdout).toContain('check-schema');
    const sub = await runCli(['check-schema', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--fix');
  });
});
