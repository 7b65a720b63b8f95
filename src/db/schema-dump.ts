/**
 * db/schema.sql: the schema a fresh `migrate` produces, as dbmate dumps it
 * (pg_dump --schema-only plus the applied versions), without graphile-worker's
 * own schema, which its installer owns. Dumped from a scratch database so that
 * local data and local experiments never leak into it.
 *
 *   npm run db:dump     rewrite db/schema.sql and db/schema.graphql (the GraphQL API)
 *
 * test/schema-dump.test.ts fails when either committed file is stale.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { projectRoot } from '../config.ts';
import { createPool, inDatabase } from './connection.ts';
import { migrate, runDbmate } from './migrate.ts';

/** The GraphQL API's schema, printed (src/api/schema-export.ts). */
export const GRAPHQL_SCHEMA_FILE = path.join(projectRoot, 'db', 'schema.graphql');

/** Lines that legitimately differ between servers and pg_dump builds. */
export function normaliseSchemaDump(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^-- Dumped (from|by) /.test(line))
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

async function main(): Promise<void> {
  const { getConfig } = await import('../commands/common.ts');
  const { openDatabase } = await import('./connection.ts');
  const config = getConfig();
  const db = await openDatabase(config, { log: (l) => process.stderr.write(`${l}\n`) });
  const scratch = `buyer_sync_schema_dump_${process.pid}`;
  const scratchUrl = inDatabase(db.url, scratch);
  try {
    const major = pgDumpMajorVersion();
    const server = await serverMajorVersion(db.url);
    if (major !== server) {
      throw new Error(`pg_dump ${major ?? '(not found)'} does not match the server's PostgreSQL ${server}`);
    }
    await db.pool.query(`create database ${scratch}`);
    await dumpSchema(scratchUrl, config.migrationsDir, config.schemaFile);
    process.stdout.write(`wrote ${config.schemaFile}\n`);
    process.env.GRAPHILE_ENV ??= 'production';
    const { printApiSchema } = await import('../api/schema-export.ts');
    const pool = createPool(scratchUrl, 2);
    try {
      writeFileSync(GRAPHQL_SCHEMA_FILE, await printApiSchema(pool));
    } finally {
      await pool.end();
    }
    process.stdout.write(`wrote ${GRAPHQL_SCHEMA_FILE}\n`);
  } finally {
    await db.pool.query(`drop database if exists ${scratch} with (force)`);
    await db.close();
  }
}

if (import.meta.main) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`schema dump failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(3);
    },
  );
}
