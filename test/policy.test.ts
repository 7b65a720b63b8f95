/**
 * Policy lives once, in SQL (issue 18): the error categories and their
 * retryability are buyer_sync.error_types (TypeScript keeps a synchronous
 * copy, checked here), and the alert thresholds' defaults are the column
 * defaults of buyer_sync.alert_thresholds, whose one row cannot be deleted.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_TYPES, isRetryable } from '../src/sync/error-types.ts';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

/** Where the TypeScript copy and the table disagree, one line each (empty: they agree). */
function differences(table: { error_type: string; retryable: boolean }[]): string[] {
  const out: string[] = [];
  const ts = new Set<string>(ERROR_TYPES);
  for (const r of table) {
    if (!ts.has(r.error_type)) out.push(`${r.error_type}: in buyer_sync.error_types, not in ERROR_TYPES`);
    else if (isRetryable(r.error_type as (typeof ERROR_TYPES)[number]) !== r.retryable) {
      out.push(
        `${r.error_type}: buyer_sync.error_types says retryable = ${r.retryable}, isRetryable says ${!r.retryable}`,
      );
    }
  }
  for (const t of ERROR_TYPES)
    if (!table.some((r) => r.error_type === t)) out.push(`${t}: in ERROR_TYPES, not in buyer_sync.error_types`);
  return out;
}

describe('error categories: defined by buyer_sync.error_types', () => {
  it('ERROR_TYPES and isRetryable agree with the table', async () => {
    const { rows } = await db.pool.query<{ error_type: string; retryable: boolean }>(
      `select error_type, retryable from buyer_sync.error_types order by 1`,
    );
    expect(differences(rows)).toEqual([]);
  });

  it('a difference is named', () => {
    const table = ERROR_TYPES.map((t) => ({ error_type: t as string, retryable: isRetryable(t) }));
    table[0]!.retryable = !table[0]!.retryable;
    table.push({ error_type: 'quota', retryable: true });
    expect(differences(table.filter((r) => r.error_type !== 'unknown'))).toEqual([
      `field_length: buyer_sync.error_types says retryable = ${!isRetryable('field_length')}, isRetryable says ${isRetryable('field_length')}`,
      'quota: in buyer_sync.error_types, not in ERROR_TYPES',
      'unknown: in ERROR_TYPES, not in buyer_sync.error_types',
    ]);
  });
});

describe('alert thresholds: one default, the columns of buyer_sync.alert_thresholds', () => {
  const defaults = async () =>
    (
      await db.pool.query<Record<string, string>>(
        `select a.attname as name, pg_get_expr(d.adbin, d.adrelid) as expr
           from pg_attribute a join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where a.attrelid = 'buyer_sync.alert_thresholds'::regclass and a.attname <> 'singleton' order by 1`,
      )
    ).rows;

  it('thresholds() is the row, with no defaults of its own', async () => {
    const { rows } = await db.pool.query<{ src: string; parallel: string; result: string; volatile: string }>(
      `select prosrc as src, proparallel as parallel, provolatile as volatile, pg_get_function_result(oid) as result
         from pg_proc where oid = 'buyer_sync_private.thresholds()'::regprocedure`,
    );
    expect(rows[0]).toMatchObject({
      parallel: 's',
      volatile: 's',
      result:
        'TABLE(missing_buyers_max integer, error_rate_max numeric, slow_sync_after interval, stale_after interval)',
    });
    // None of the defaults is written in the function.
    expect(rows[0]!.src).not.toMatch(/interval|\b10\b|\b5\b|union/i);
    expect((await defaults()).map((d) => d.name)).toEqual([
      'error_rate_max',
      'missing_buyers_max',
      'slow_sync_after',
      'stale_after',
    ]);
  });

  it('reset to default, thresholds() gives the column defaults', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `update buyer_sync.alert_thresholds set missing_buyers_max = 99, error_rate_max = 50, slow_sync_after = interval '1 day', stale_after = interval '2 days'`,
      );
      expect(
        (await client.query(`select missing_buyers_max, error_rate_max::text from buyer_sync_private.thresholds()`))
          .rows,
      ).toEqual([{ missing_buyers_max: 99, error_rate_max: '50.00' }]);
      await client.query(
        `update buyer_sync.alert_thresholds set missing_buyers_max = default, error_rate_max = default, slow_sync_after = default, stale_after = default`,
      );
      const expected = (
        await client.query(`select ${(await defaults()).map((d) => `(${d.expr})::text as ${d.name}`).join(', ')}`)
      ).rows[0] as Record<string, string>;
      const got = (
        await client.query(
          `select error_rate_max::float8::text as error_rate_max, missing_buyers_max::text, slow_sync_after::text, stale_after::text from buyer_sync_private.thresholds()`,
        )
      ).rows;
      expect(got).toEqual([{ ...expected, error_rate_max: String(Number(expected.error_rate_max)) }]);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('the one row cannot be deleted or truncated, nor a second one added', async () => {
    for (const sql of ['delete from buyer_sync.alert_thresholds', 'truncate buyer_sync.alert_thresholds']) {
      await expect(db.pool.query(sql), sql).rejects.toMatchObject({ code: '23001' });
    }
    await expect(db.pool.query(`insert into buyer_sync.alert_thresholds default values`)).rejects.toMatchObject({
      code: '23505',
    });
    await expect(
      db.pool.query(`insert into buyer_sync.alert_thresholds (singleton) values (false)`),
    ).rejects.toMatchObject({ code: '23514' });
    expect((await db.pool.query(`select count(*)::int as n from buyer_sync_private.thresholds()`)).rows).toEqual([
      { n: 1 },
    ]);
  });

  it('the API shows the thresholds in force to the dashboard role', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`update buyer_sync.alert_thresholds set missing_buyers_max = 3, error_rate_max = 12.5`);
      await client.query('set local role buyer_sync_dashboard');
      expect(
        (await client.query(`select error_rate_max::text, missing_buyers_max from buyer_sync_api.alert_thresholds`))
          .rows,
      ).toEqual([{ error_rate_max: '12.50', missing_buyers_max: 3 }]);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
