/**
 * Property 1 (schema validation completeness) and Migration 050, against the
 * real catalog of a real database.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SchemaValidator,
  describeField,
  generateFixScript,
  migrationVersion,
  type FieldInfo,
} from '../src/schema/validator.ts';
import { createDatabaseWith, migrationSections, useTestDatabase, type TestDatabase } from './helpers.ts';

/** The fully migrated schema. */
const db = useTestDatabase();
/** The legacy buyers table (migration 001) with the schema check (052) installed beside it. */
let legacy: TestDatabase;
beforeAll(async () => {
  legacy = await createDatabaseWith([
    '001_legacy_buyers.sql',
    '051_sync_bookkeeping_tables.sql',
    '052_schema_check.sql',
  ]);
  for (const d of [db, legacy]) {
    await d.pool.query(`create domain test_short_text as varchar(20)`);
    await d.pool.query(`create domain test_code as char(4)`);
    await d.pool.query(`create domain test_nested as test_short_text`);
  }
});
afterAll(async () => {
  await legacy?.drop();
});

/** Runs fn in a transaction that is always rolled back. */
async function inRollback<T>(
  fn: (client: pg.PoolClient) => Promise<T>,
  on: Pick<TestDatabase, 'pool'> = db,
): Promise<T> {
  const client = await on.pool.connect();
  try {
    await client.query('begin');
    return await fn(client);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

const LEGACY_VARCHAR_COLUMNS = [
  'buyer_number',
  'name',
  'phone',
  'email',
  'address',
  'inquiry_source',
  'desired_area',
  'property_type',
  'status',
  'assignee',
  'notes',
];

describe('after all migrations', () => {
  it('every text-like column of every synced table is text', async () => {
    const result = await new SchemaValidator(db.pool).validateBuyersSchema();
    expect(result).toEqual({ valid: true, errors: [], nonTextFields: [] });
  });

  it('the synced tables include the design tables', async () => {
    const { rows } = await db.pool.query(`select table_name from buyer_sync_private.synced_tables order by table_name`);
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['buyers', 'retry_queue', 'sync_alerts', 'sync_error_log', 'sync_health_metrics']),
    );
  });
});

describe('Migration 050', () => {
  const m050 = migrationSections('050_buyers_text_columns.sql');

  it('the legacy VARCHAR(50) columns are flagged one by one; 050 up clears them and its down restores them', async () => {
    await inRollback(async (client) => {
      const result = await new SchemaValidator(client).validateBuyersSchema();
      expect(result.valid).toBe(false);
      expect(result.nonTextFields.map((f) => f.columnName).sort()).toEqual([...LEGACY_VARCHAR_COLUMNS].sort());
      for (const f of result.nonTextFields) {
        expect(f).toMatchObject({ tableName: 'buyers', dataType: 'character varying', characterMaximumLength: 50 });
      }
      expect(result.errors).toContain(
        'buyers.notes is character varying(50): values longer than 50 characters would be rejected; it must be text',
      );
      await client.query(m050.up);
      expect((await new SchemaValidator(client).validateBuyersSchema()).valid).toBe(true);
      await client.query(m050.down);
      expect((await new SchemaValidator(client).getNonTextFields()).map((f) => f.columnName).sort()).toEqual(
        [...LEGACY_VARCHAR_COLUMNS].sort(),
      );
    }, legacy);
  });

  it('reproduces the incident on the legacy schema and fixes it on the new one', async () => {
    await inRollback(async (client) => {
      await client.query('savepoint legacy');
      const long = 'x'.repeat(51);
      await expect(
        client.query(`insert into buyers (buyer_number, address) values ('B1', $1)`, [long]),
      ).rejects.toMatchObject({ code: '22001' });
      await client.query('rollback to savepoint legacy');
      await client.query(m050.up);
      await client.query(`insert into buyers (buyer_number, address) values ('B1', $1)`, [long.repeat(100)]);
      expect((await new SchemaValidator(client).validateBuyersSchema()).valid).toBe(true);
    }, legacy);
  });

  it('down refuses (22001) once longer values exist, instead of truncating them', async () => {
    await inRollback(async (client) => {
      await client.query(m050.up);
      await client.query(`insert into buyers (buyer_number, notes) values ('B2', $1)`, ['n'.repeat(80)]);
      await expect(client.query(m050.down)).rejects.toMatchObject({ code: '22001' });
    }, legacy);
  });
});

/** Column types the generator draws from, with whether the validator must flag them. */
const columnType = fc.oneof(
  fc
    .integer({ min: 1, max: 300 })
    .map((n) => ({ sql: `varchar(${n})`, flagged: true, length: n as number | null, data: 'character varying' })),
  fc
    .integer({ min: 1, max: 300 })
    .map((n) => ({ sql: `character(${n})`, flagged: true, length: n as number | null, data: 'character' })),
  fc.constant({ sql: 'varchar', flagged: true, length: null as number | null, data: 'character varying' }),
  fc
    .integer({ min: 1, max: 99 })
    .map((n) => ({ sql: `varchar(${n})[]`, flagged: true, length: n as number | null, data: 'character varying[]' })),
  fc.constant({ sql: 'test_short_text', flagged: true, length: 20 as number | null, data: 'character varying' }),
  fc.constant({ sql: 'test_nested[]', flagged: true, length: 20 as number | null, data: 'character varying[]' }),
  fc.constant({ sql: 'test_code', flagged: true, length: 4 as number | null, data: 'character' }),
  fc
    .constantFrom('text', 'text[]', 'integer', 'bigint', 'date', 'jsonb', 'boolean', 'timestamptz', '"char"', 'name')
    .map((sql) => ({ sql, flagged: false, length: null as number | null, data: '' })),
);

const SYNCED = ['buyers', 'sync_error_log', 'retry_queue', 'sync_health_metrics', 'sync_alerts'];

const schemaChange = fc.uniqueArray(
  fc.record({
    table: fc.constantFrom(...SYNCED),
    // Quoted identifiers with spaces, capitals and unicode must survive too. The
    // prefix keeps a drawn name off the tables' own columns (id, name, status...):
    // adding one of those raises 42701 and says nothing about the validator.
    column: fc
      .stringMatching(/^[a-z][a-z0-9_]{0,10}$/)
      .chain((base) => fc.constantFrom(`added_${base}`, `Added ${base} Col`, `列_${base}`)),
    type: columnType,
  }),
  { minLength: 0, maxLength: 8, selector: (c) => `${c.table}.${c.column}` },
);

describe('Property 1: schema validation completeness', () => {
  it('reports exactly the non-text columns, and its generated migration leaves none (and rolls back exactly)', async () => {
    await fc.assert(
      fc.asyncProperty(schemaChange, fc.boolean(), async (changes, legacyFirst) => {
        await inRollback(
          async (client) => {
            for (const c of changes) {
              await client.query(`alter table public.${c.table} add column "${c.column}" ${c.type.sql}`);
            }
            const validator = new SchemaValidator(client);
            const found = await validator.getNonTextFields();

            const expected = changes
              .filter((c) => c.type.flagged)
              .map((c) => `${c.table}.${c.column}:${c.type.data}:${c.type.length}`);
            if (legacyFirst) {
              expected.push(...LEGACY_VARCHAR_COLUMNS.map((c) => `buyers.${c}:character varying:50`));
            }
            const actual = found.map((f) => `${f.tableName}.${f.columnName}:${f.dataType}:${f.characterMaximumLength}`);
            expect(actual.sort()).toEqual(expected.sort());

            const result = await validator.validateBuyersSchema();
            expect(result.valid).toBe(expected.length === 0);
            expect(result.errors).toHaveLength(expected.length);

            if (found.length === 0) return;
            const before = await declaredTypes(client);
            const script = validator.generateFixScript(found);
            const { up, down } = sectionsOf(script);
            await client.query(up);
            expect(await validator.getNonTextFields()).toEqual([]);
            await client.query(down);
            expect(await declaredTypes(client)).toEqual(before);
          },
          legacyFirst ? legacy : db,
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe('generateFixScript', () => {
  const field: FieldInfo = {
    tableSchema: 'public',
    tableName: 'buyers',
    columnName: 'Odd "name"',
    dataType: 'character varying',
    characterMaximumLength: 50,
    declaredType: 'character varying(50)',
  };

  it('is a dbmate migration with an up, a commented down, and quoted identifiers', () => {
    const script = generateFixScript([field], new Date('2026-01-02T03:04:05Z'));
    expect(script.startsWith('-- migrate:up\n')).toBe(true);
    expect(script).toContain('alter table "public"."buyers"\n  alter column "Odd ""name""" type text;');
    expect(script).toContain('-- migrate:down');
    expect(script).toContain('alter column "Odd ""name""" type character varying(50);');
    expect(script).toMatch(/This FAILS/);
    expect(script).toContain('2026-01-02T03:04:05.000Z');
  });

  it('names migrations with a dbmate timestamp version', () => {
    expect(migrationVersion(new Date('2026-01-02T03:04:05Z'))).toBe('20260102030405');
  });

  it('describes a field by table, column, type and rule', () => {
    expect(describeField(field)).toBe(
      'buyers.Odd "name" is character varying(50): values longer than 50 characters would be rejected; it must be text',
    );
  });
});

function sectionsOf(script: string): { up: string; down: string } {
  const [up, down] = script.split('-- migrate:down');
  return { up: up ?? '', down: down ?? '' };
}

async function declaredTypes(client: pg.PoolClient): Promise<Record<string, string>> {
  const { rows } = await client.query<{ k: string; t: string }>(
    `select c.relname || '.' || a.attname as k, format_type(a.atttypid, a.atttypmod) as t
       from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.relnamespace = 'public'::regnamespace and c.relname = any($1) and a.attnum > 0 and not a.attisdropped`,
    [SYNCED],
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.t]));
}
