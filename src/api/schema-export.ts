/**
 * db/schema.graphql: the GraphQL API as PostGraphile builds it from a freshly
 * migrated database, printed in a stable order. Written by `npm run db:dump`
 * beside db/schema.sql; test/schema-dump.test.ts fails when it is stale, so
 * a change to the API is always a visible change in review.
 */
import type pg from 'pg';
import { postgraphile } from 'postgraphile';
import { lexicographicSortSchema, printSchema } from 'postgraphile/graphql';
import { apiPreset } from './preset.ts';

/**
 * The API's schema, read through `pool` (any login that may switch to the
 * operator role: the schema is introspected as that role either way).
 */
export async function printApiSchema(pool: pg.Pool): Promise<string> {
  const pgl = postgraphile(apiPreset({ pool, operatorToken: null, development: false }));
  try {
    return `${printSchema(lexicographicSortSchema(await pgl.getSchema()))}\n`;
  } finally {
    await pgl.release();
  }
}
