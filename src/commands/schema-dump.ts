/**
 * Rewrites db/schema.sql and db/schema.graphql (the GraphQL API) from a
 * scratch database (src/db/schema-dump.ts holds the dump itself):
 *
 *   node src/commands/schema-dump.ts
 *
 * test/schema-dump.test.ts fails when either committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { createPool, inDatabase, openDatabase } from '../db/connection.ts';
import { dumpSchema, GRAPHQL_SCHEMA_FILE, pgDumpMajorVersion, serverMajorVersion } from '../db/schema-dump.ts';
import { getConfig } from './common.ts';

async function main(): Promise<void> {
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
