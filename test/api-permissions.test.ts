/**
 * The API's roles, checked in SQL against the catalog (every relation and
 * function of the database, not a list of the ones we thought of) and by
 * acting as each role:
 * - buyer_sync_dashboard reads the views of buyer_sync_api and nothing else,
 *   may call only the API's two read functions, and can write nothing;
 * - buyer_sync_operator adds exactly the enqueue functions (and the API's
 *   wrappers of them), still writing no table itself;
 * - buyer_sync_authenticator, the login, can read nothing by itself.
 */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

const OWN_SCHEMAS = ['public', 'buyer_sync', 'buyer_sync_private', 'buyer_sync_api', 'graphile_worker'];

/** Relations a role may use for `privilege`, with schema usage (a grant on a table in an unusable schema is no access). */
async function relationsWith(role: string, privilege: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'v', 'm', 'p', 'f', 'S')
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
        and has_schema_privilege($1, n.oid, 'usage')
        and (has_table_privilege($1, c.oid, $2)
             or case when $2 in ('select', 'insert', 'update', 'references') and c.relkind <> 'S'
                     then has_any_column_privilege($1, c.oid, $2) else false end)
      order by 1`,
    [role, privilege],
  );
  return rows.map((r) => r.name);
}

/** Functions outside pg_catalog a role can call (execute, and usage on the schema). */
async function callable(role: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ name: string }>(
    `select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema')
        and has_schema_privilege($1, n.oid, 'usage') and has_function_privilege($1, p.oid, 'execute')
      order by 1`,
    [role],
  );
  return rows.map((r) => r.name);
}

/** Runs `sql` as `role` in a transaction that is rolled back; returns the rows, or the SQLSTATE it failed with. */
async function as(
  role: string,
  sql: string,
  readOnly = false,
): Promise<{ rows: Record<string, unknown>[] } | { code: string }> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    if (readOnly) await client.query('set transaction read only');
    await client.query(`set local role ${role}`);
    try {
      return { rows: (await client.query(sql)).rows };
    } catch (err) {
      return { code: (err as { code: string }).code };
    }
  } finally {
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
}

const API_VIEWS = [
  'buyer_sync_api.alert_thresholds',
  'buyer_sync_api.alerts',
  'buyer_sync_api.current_verdict',
  'buyer_sync_api.daily_error_rate',
  'buyer_sync_api.daily_errors',
  'buyer_sync_api.daily_failing_buyers',
  'buyer_sync_api.daily_runs',
  'buyer_sync_api.dashboard_summary',
  'buyer_sync_api.extra_buyers',
  'buyer_sync_api.missing_buyers',
  'buyer_sync_api.recent_errors',
  'buyer_sync_api.recent_runs',
  'buyer_sync_api.report_status',
  'buyer_sync_api.retry_entries',
  'buyer_sync_api.verification',
];

describe('buyer_sync_dashboard', () => {
  it('can select from the views of buyer_sync_api and from no other relation of the database', async () => {
    expect(await relationsWith('buyer_sync_dashboard', 'select')).toEqual(API_VIEWS);
    const { rows } = await db.pool.query<{ name: string }>(
      `select format('%I.%I', table_schema, table_name) as name from information_schema.tables where table_schema = 'buyer_sync_api' order by 1`,
    );
    expect(rows.map((r) => r.name)).toEqual(API_VIEWS);
  });

  it('can insert, update, delete or truncate nothing, anywhere', async () => {
    for (const privilege of ['insert', 'update', 'delete', 'truncate', 'references', 'trigger']) {
      expect(await relationsWith('buyer_sync_dashboard', privilege), privilege).toEqual([]);
    }
  });

  it("can call only the API's three read functions", async () => {
    expect(await callable('buyer_sync_dashboard')).toEqual([
      'buyer_sync_api.latest_verification()',
      'buyer_sync_api.summary()',
      'buyer_sync_api.verdict()',
    ]);
  });

  it('acting as it: every view answers; buyers, the error log and the operator actions are refused', async () => {
    for (const view of API_VIEWS)
      expect(await as('buyer_sync_dashboard', `select * from ${view}`, true), view).toHaveProperty('rows');
    expect(await as('buyer_sync_dashboard', 'select name, phone from public.buyers', true)).toEqual({ code: '42501' });
    expect(await as('buyer_sync_dashboard', 'select buyer_number from public.buyers', true)).toEqual({ code: '42501' });
    expect(await as('buyer_sync_dashboard', 'select * from public.sync_error_log', true)).toEqual({ code: '42501' });
    expect(await as('buyer_sync_dashboard', 'select * from buyer_sync.verification_mismatches', true)).toEqual({
      code: '42501',
    });
    expect(await as('buyer_sync_dashboard', 'select buyer_sync_api.request_sync()', true)).toEqual({ code: '42501' });
    expect(await as('buyer_sync_dashboard', 'select buyer_sync.request_sync()', true)).toEqual({ code: '42501' });
    expect(await as('buyer_sync_dashboard', `select graphile_worker.add_job('buyers__sync')`, true)).toEqual({
      code: '42501',
    });
    // Writes to the views are refused outside a read-only transaction too (no grant; none of them is updatable anyway).
    expect(['42501', '55000']).toContain(
      (
        (await as('buyer_sync_dashboard', `insert into buyer_sync_api.extra_buyers (buyer_number) values ('X')`)) as {
          code: string;
        }
      ).code,
    );
    expect(['42501', '55000']).toContain(
      ((await as('buyer_sync_dashboard', `delete from buyer_sync_api.recent_errors`)) as { code: string }).code,
    );
  });
});

describe('buyer_sync_operator', () => {
  it("can call exactly the enqueue functions (and the API's wrappers of them) besides the dashboard's reads", async () => {
    expect(await callable('buyer_sync_operator')).toEqual([
      'buyer_sync.acknowledge_alert(alert_id uuid)',
      'buyer_sync.approve_mass_change(valid_for interval)',
      'buyer_sync.request_buyer_sync(buyer_numbers text[])',
      'buyer_sync.request_retry_round()',
      'buyer_sync.request_sync()',
      'buyer_sync.retry_buyer_now(buyer_number text)',
      'buyer_sync_api.acknowledge_alert(alert_id uuid)',
      'buyer_sync_api.approve_mass_change()',
      'buyer_sync_api.latest_verification()',
      'buyer_sync_api.request_sync()',
      'buyer_sync_api.retry_buyer(buyer_number text)',
      'buyer_sync_api.summary()',
      'buyer_sync_api.verdict()',
    ]);
  });

  it('reads what the dashboard reads and writes no table itself', async () => {
    expect(await relationsWith('buyer_sync_operator', 'select')).toEqual(API_VIEWS);
    for (const privilege of ['insert', 'update', 'delete', 'truncate']) {
      expect(await relationsWith('buyer_sync_operator', privilege), privilege).toEqual([]);
    }
    expect(await as('buyer_sync_operator', 'select name from public.buyers')).toEqual({ code: '42501' });
  });

  it('acting as it: a sync request enqueues a job', async () => {
    const r = await as('buyer_sync_operator', 'select buyer_sync_api.request_sync() as job');
    expect(r).toHaveProperty('rows');
    expect(Number((r as { rows: { job: string }[] }).rows[0]!.job)).toBeGreaterThan(0);
  });
});

describe('buyer_sync_authenticator', () => {
  it('is a noinherit login that is no superuser, may become the dashboard or the operator, and reads nothing by itself', async () => {
    const { rows } = await db.pool.query(
      `select rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,
              pg_has_role('buyer_sync_authenticator', 'buyer_sync_dashboard', 'member') as dashboard,
              pg_has_role('buyer_sync_authenticator', 'buyer_sync_operator', 'member') as operator
         from pg_roles where rolname = 'buyer_sync_authenticator'`,
    );
    expect(rows).toEqual([
      {
        rolcanlogin: true,
        rolinherit: false,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
        dashboard: true,
        operator: true,
      },
    ]);
    expect(await relationsWith('buyer_sync_authenticator', 'select')).toEqual([]);
    expect(await callable('buyer_sync_authenticator')).toEqual([]);
    expect(await as('buyer_sync_authenticator', 'select * from buyer_sync_api.alerts')).toEqual({ code: '42501' });
  });
});

describe('functions are not callable by accident', () => {
  it('no function of ours is executable by public', async () => {
    const { rows } = await db.pool.query<{ name: string }>(
      `select format('%I.%I', n.nspname, p.proname) as name
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = any($1) and n.nspname <> 'graphile_worker'
          and exists (select 1 from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')`,
      [OWN_SCHEMAS],
    );
    expect(rows).toEqual([]);
  });
});
