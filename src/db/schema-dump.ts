/**
 * db/schema.sql: the schema a fresh `migrate` produces, as dbmate dumps it
 * (pg_dump --schema-only plus the applied versions), without graphile-worker's
 * own schema, which its installer owns. Dumped from a scratch database so that
 * local data and local experiments never leak into it.
 *
 *   node src/commands/schema-dump.ts   rewrite db/schema.sql and db/schema.graphql (the GraphQL API)
 *
 * test/schema-dump.test.ts fails when either committed file is stale.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../paths.ts';
import { createPool } from './connection.ts';
import { migrate, runDbmate } from './migrate.ts';

/** The GraphQL API's schema, printed (src/api/schema-export.ts). */
export const GRAPHQL_SCHEMA_FILE = path.join(projectRoot, 'db', 'schema.graphql');

/**
 * Lines that legitimately differ between servers and pg_dump builds: the
 * versions, and the random key of pg_dump's `\restrict` guard (15.14 and
 * later), which some dbmate releases replace with a fixed word and others keep.
 */
export function normaliseSchemaDump(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by) /.test(line))
    .map((line) => line.replace(/^\\(un)?restrict \S+$/, '\\$1restrict <key>'))
    .join('\n');
}

export function pgDumpMajorVersion(): number | null {
  try {
    const out = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
    return Number(/(\d+)(\.\d+)?/.exec(out)?.[1] ?? NaN);
  } catch {
    return null;
  }
}

export async function serverMajorVersion(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>(`select current_setting('server_version_num') as v`);
    return Math.floor(Number(rows[0]?.v) / 10000);
  } finally {
    await client.end();
  }
}

/** Migrates the (empty or migrated) database at `url` and dumps its schema to `schemaFile`. */
export async function dumpSchema(url: string, migrationsDir: string, schemaFile: string): Promise<string> {
  const pool = createPool(url, 2);
  try {
    await migrate(url, pool, migrationsDir);
  } finally {
    await pool.end();
  }
  await runDbmate(['dump', '--', '--exclude-schema=graphile_worker'], { url, migrationsDir, schemaFile });
  return readFileSync(schemaFile, 'utf8');
}
