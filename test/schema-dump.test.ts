/**
 * The committed db/schema.sql and db/schema.graphql are what the migrations
 * produce (the database, and the GraphQL API built from it): a stale dump
 * fails here (graphile/worker checks its dump the same way).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import {
  dumpSchema,
  GRAPHQL_SCHEMA_FILE,
  normaliseSchemaDump,
  pgDumpMajorVersion,
  serverMajorVersion,
} from '../src/db/schema-dump.ts';
import { createTestDatabase, type TestDatabase } from './helpers.ts';

let db: TestDatabase;
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-dump-'));
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('db/schema.sql matches a fresh dump of the migrated schema (run `npm run db:dump` to refresh it)', async (ctx) => {
  const dumpMajor = pgDumpMajorVersion();
  const serverMajor = await serverMajorVersion(db.url);
  if (dumpMajor !== serverMajor) {
    const why = `pg_dump ${dumpMajor ?? 'missing'} cannot dump PostgreSQL ${serverMajor} faithfully`;
    // In CI the drift check never passes by not running: .ci/run installs the matching pg_dump.
    if (process.env.CI) throw new Error(`${why}: install postgresql-client-${serverMajor}`);
    ctx.skip(why);
  }
  const fresh = await dumpSchema(db.url, path.join(projectRoot, 'db', 'migrations'), path.join(dir, 'schema.sql'));
  const committed = readFileSync(path.join(projectRoot, 'db', 'schema.sql'), 'utf8');
  expect(normaliseSchemaDump(committed)).toBe(normaliseSchemaDump(fresh));
});

it('db/schema.graphql matches the GraphQL API PostGraphile builds from the migrated schema (run `npm run db:dump` to refresh it)', async () => {
  process.env.GRAPHILE_ENV ??= 'production';
  const { printApiSchema } = await import('../src/api/schema-export.ts');
  const fresh = await printApiSchema(db.pool);
  expect(readFileSync(GRAPHQL_SCHEMA_FILE, 'utf8')).toBe(fresh);
});
