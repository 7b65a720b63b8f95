/**
 * The verdict (buyer_sync.verdict, migration 067) over generated states: full
 * runs (succeeded, failed for any reason, refused by the mass-change guard,
 * skipped busy or unchanged), health checks, open alerts of every severity,
 * a sheet read or never read, missing buyers. Each state is written in a
 * transaction that is rolled back. The verdict equals an independent oracle
 * of the documented rules, and in particular it is never ok while the latest
 * full sync failed or the latest health check was unhealthy. The daily
 * figures count distinct buyers, and the latest day's error rate is the
 * verdict's.
 */
import fc from 'fast-check';
import { parseCrontab } from 'graphile-worker';
import type pg from 'pg';
import { expect, it } from 'vitest';
import { useTestDatabase } from './helpers.ts';

const db = useTestDatabase();

type RunKind = 'succeeded' | 'failed' | 'mass_change' | 'busy' | 'unchanged';
interface State {
  runs: { kind: RunKind; minutesAgo: number }[];
  checks: { healthy: boolean; minutesAgo: number }[];
  alerts: ('critical' | 'error' | 'warning' | 'info')[];
  sheetRead: boolean;
  missing: number;
}

const stateArb: fc.Arbitrary<State> = fc.record({
  runs: fc.array(
    fc.record({
      kind: fc.constantFrom<RunKind>('succeeded', 'failed', 'mass_change', 'busy', 'unchanged'),
      minutesAgo: fc.integer({ min: 0, max: 180 }),
    }),
    { maxLength: 6 },
  ),
  checks: fc.array(fc.record({ healthy: fc.boolean(), minutesAgo: fc.integer({ min: 0, max: 180 }) }), {
    maxLength: 4,
  }),
  alerts: fc.array(fc.constantFrom('critical', 'error', 'warning', 'info'), { maxLength: 4 }),
  sheetRead: fc.boolean(),
  missing: fc.integer({ min: 0, max: 3 }),
});

/** The rules in the order the README's runbook gives them. */
function oracle(s: State): { level: string; rule: string } {
  // Distinct times: the generator may repeat a minute; the writer adds the index in seconds (later index, later run).
  const runs = s.runs.map((r, i) => ({ ...r, at: -r.minutesAgo * 60 + i }));
  const decisive = runs
    .filter((r) => r.kind === 'succeeded' || r.kind === 'failed' || r.kind === 'mass_change')
    .sort((a, b) => b.at - a.at)[0];
  const succeeded = runs.some((r) => r.kind === 'succeeded');
  const checks = s.checks.map((c, i) => ({ ...c, at: -c.minutesAgo * 60 + i })).sort((a, b) => b.at - a.at);
  const seen = runs.filter((r) => r.kind === 'succeeded' || r.kind === 'unchanged').map((r) => r.at + 3);
  const first = runs.length ? Math.min(...runs.map((r) => r.at)) : null;
  const seenAt = seen.length ? Math.max(...seen) : first;
  const rule =
    decisive?.kind === 'mass_change'
      ? 'mass_change'
      : decisive?.kind === 'failed'
        ? 'sync_failed'
        : !succeeded && !s.sheetRead
          ? 'never_read'
          : !succeeded
            ? 'never_synced'
            : s.alerts.some((a) => a === 'critical' || a === 'error')
              ? 'alerts'
              : checks[0] && !checks[0].healthy
                ? 'unhealthy'
                : seenAt !== null && -seenAt > 3600
                  ? 'stale'
                  : s.sheetRead && s.missing > 0
                    ? 'missing'
                    : s.alerts.includes('warning')
                      ? 'warnings'
                      : 'in_step';
  const level = ['mass_change', 'sync_failed', 'alerts', 'unhealthy', 'stale'].includes(rule)
    ? 'failing'
    : ['missing', 'warnings'].includes(rule)
      ? 'warning'
      : ['never_read', 'never_synced'].includes(rule)
        ? 'unknown'
        : 'ok';
  return { level, rule };
}

async function write(c: pg.ClientBase, s: State): Promise<void> {
  for (const [i, r] of s.runs.entries()) {
    const status =
      r.kind === 'mass_change' ? 'failed' : r.kind === 'busy' || r.kind === 'unchanged' ? 'skipped' : r.kind;
    await c.query(
      `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, failure, error_message, skipped_kind, skipped_because)
       values (now() - make_interval(secs => $1::int), now() - make_interval(secs => $1::int - 3), $2, 'full', '/home/someone/private/buyers.csv', 100, 10, 0, 0, 0, 10 - $3::int, $3::int, '{}', $4, $5, $6, case when $2 = 'skipped' then 'generated skip' end)`,
      [
        r.minutesAgo * 60 - i,
        status,
        status === 'succeeded' ? i % 3 : 0,
        status === 'failed' ? (r.kind === 'mass_change' ? 'mass_change' : 'blocked') : null,
        status === 'failed' ? 'the sheet /home/someone/private/buyers.csv has no column Buyer Number' : null,
        status === 'skipped' ? r.kind : null,
      ],
    );
  }
  for (const [i, k] of s.checks.entries()) {
    await c.query(
      `insert into sync_health_metrics (check_time, spreadsheet_count, database_count, missing_count, healthy, issues)
       values (now() - make_interval(secs => $1::int), 0, 0, 0, $2, $3)`,
      [k.minutesAgo * 60 - i, k.healthy, k.healthy ? [] : ['the last full sync failed on 9% of its rows']],
    );
  }
  for (const [i, severity] of s.alerts.entries()) {
    await c.query(
      `insert into sync_alerts (type, severity, condition, message) values ('slow_sync', $1, $2, 'generated')`,
      [severity, `generated:${i}`],
    );
  }
  if (s.sheetRead) {
    await c.query(
      `insert into buyer_sync_private.sheet_snapshot (source, read_at, row_count, keys_hash) values ('x.csv', now(), 5, 'h')`,
    );
    await c.query(
      `insert into buyer_sync_private.sheet_buyers (buyer_number, row_number) select 'V' || g, g + 1 from generate_series(1, 5) g`,
    );
    await c.query(`insert into buyers (buyer_number) select 'V' || g from generate_series(1, 5 - $1::int) g`, [
      s.missing,
    ]);
  }
}

it('the verdict follows its rules over generated states: never ok with a failed latest run or an unhealthy latest check', async () => {
  const c = await db.pool.connect();
  try {
    await fc.assert(
      fc.asyncProperty(stateArb, async (s) => {
        await c.query('begin');
        try {
          await write(c, s);
          const {
            rows: [v],
          } = await c.query<{
            level: string;
            rule: string;
            headline: string;
            reason: string;
            what_to_do: string;
            runbook: string;
            last_attempt_status: string | null;
            last_check_healthy: boolean | null;
            latest_run_status: string | null;
          }>(`select * from buyer_sync.verdict`);
          expect(v).toMatchObject(oracle(s));
          if (v!.latest_run_status === 'failed' || v!.last_check_healthy === false) expect(v!.level).not.toBe('ok');
          if (v!.level === 'ok') expect(v!.headline).toMatch(/^In step/);
          expect(v!.runbook).toBe(`docs/runbooks.md#verdict-${v!.rule.replaceAll('_', '-')}`);
          expect(v!.reason).not.toContain('/home/someone');
          expect(v!.what_to_do.length).toBeGreaterThan(0);
          // The API's function gives the same answer to the dashboard's role.
          await c.query('set local role buyer_sync_dashboard');
          const {
            rows: [api],
          } = await c.query<{ level: string; rule: string }>(`select level, rule from buyer_sync_api.verdict()`);
          expect(api).toEqual({ level: v!.level, rule: v!.rule });
        } finally {
          await c.query('rollback');
        }
      }),
      { numRuns: 150 },
    );
  } finally {
    c.release();
  }
}, 120_000);

it("the next scheduled sync: the recorded schedule's next minute while a worker is alive, unknown otherwise", async () => {
  const c = await db.pool.connect();
  try {
    await c.query('begin');
    expect((await c.query(`select next_sync_at from buyer_sync.verdict`)).rows[0].next_sync_at).toBeNull();
    await c.query(`select buyer_sync.record_schedule('scheduled_sync', '*/15 * * * *')`);
    expect((await c.query(`select next_sync_at from buyer_sync.verdict`)).rows[0].next_sync_at).toBeNull(); // no worker
    await c.query(`insert into buyer_sync_private.workers (worker_id, host, pid) values ('w1', 'h', 1)`);
    const {
      rows: [r],
    } = await c.query<{ next: Date; expected: Date }>(
      `select next_sync_at as next, date_bin(interval '15 minutes', now(), timestamptz '2000-01-01') + interval '15 minutes' as expected from buyer_sync.verdict`,
    );
    expect(r!.next.getTime()).toBe(r!.expected.getTime());
    const {
      rows: [y],
    } = await c.query<{ t: Date }>(
      `select buyer_sync_private.next_cron_time('30 6 * * 1', timestamptz '2026-03-04 12:00Z') as t`,
    );
    expect(y!.t.toISOString()).toBe('2026-03-09T06:30:00.000Z'); // the next Monday
  } finally {
    await c.query('rollback');
    c.release();
  }
});

it('next_cron_time reads a cron line as graphile-worker does (either day field, when both restrict)', async () => {
  const MINUTE = 60_000;
  /** graphile-worker's own answer: the first minute after `after` its parsed line matches, within the same 400 days. */
  const oracle = (cron: string, after: Date): number | null => {
    const [item] = parseCrontab(`${cron} buyers__sync`);
    const dayStart = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate());
    const end = dayStart + 401 * 24 * 60 * MINUTE;
    for (let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE; t < end; t += MINUTE) {
      const d = new Date(t);
      const digest = {
        min: d.getUTCMinutes(),
        hour: d.getUTCHours(),
        date: d.getUTCDate(),
        month: d.getUTCMonth() + 1,
        dow: d.getUTCDay(),
      };
      if (item!.match(digest)) return t;
    }
    return null;
  };
  const line = fc
    .tuple(
      fc.constantFrom('0', '*/15', '5,35', '10-20'),
      fc.constantFrom('*', '6', '9-17', '*/6'),
      fc.constantFrom('*', '1', '15', '1-31', '10-12', '*/10', '31'),
      fc.constantFrom('*', '1', '3,6,9,12', '2'),
      fc.constantFrom('*', '1', '0', '7', '1-5', '0-6', '6,0'),
    )
    .map((f) => f.join(' '));
  const after = fc.date({
    min: new Date('2026-01-01T00:00:00Z'),
    max: new Date('2027-12-31T23:59:59Z'),
    noInvalidDate: true,
  });
  await fc.assert(
    fc.asyncProperty(line, after, async (cron, at) => {
      const { rows } = await db.pool.query<{ t: Date | null }>(
        'select buyer_sync_private.next_cron_time($1, $2) as t',
        [cron, at],
      );
      expect(rows[0]!.t?.getTime() ?? null).toBe(oracle(cron, at));
    }),
    { numRuns: 60, examples: [['0 6 1 * 1', new Date('2026-03-04T12:00:00Z')]] },
  );
});

it('the daily figures count distinct failing buyers, and a day ending with a failed sync shows 100 %, as the verdict does', async () => {
  const c = await db.pool.connect();
  try {
    await c.query('begin');
    const {
      rows: [run],
    } = await c.query<{ id: string }>(
      `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type)
       values (now() - interval '2 minutes', now() - interval '2 minutes', 'succeeded', 'full', 'x.csv', 100, 20, 0, 17, 0, 0, 3, '{}') returning id`,
    );
    // Three buyers, each logged four times (the sync and three retries); one row without a buyer number twice.
    await c.query(
      `insert into sync_error_log (buyer_number, row_number, error_message, error_type, run_id, created_at)
       select 'F' || b, b + 1, 'bad', 'data_type', $1::uuid, now() - make_interval(secs => k) from generate_series(1, 3) b, generate_series(1, 4) k
       union all select null, 30, 'no key', 'constraint_violation', $1::uuid, now() - make_interval(secs => k) from generate_series(1, 2) k`,
      [run!.id],
    );
    const { rows } = await c.query<{ error_type: string; buyers: number; buyers_all_types: number }>(
      `select error_type, buyers, buyers_all_types from buyer_sync_api.daily_failing_buyers order by error_type`,
    );
    expect(rows).toEqual([
      { error_type: 'constraint_violation', buyers: 1, buyers_all_types: 4 },
      { error_type: 'data_type', buyers: 3, buyers_all_types: 4 },
    ]);
    expect((await c.query(`select error_rate::text from buyer_sync_api.daily_error_rate`)).rows).toEqual([
      { error_rate: '15.00' },
    ]);
    // Three failed runs after it: the day's last full sync failed, 100 %, and the headline says the same.
    await c.query(
      `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type, failure, error_message)
       select now() - make_interval(secs => k), now() - make_interval(secs => k), 'failed', 'full', 'x.csv', 100, 0, 0, 0, 0, 0, 0, '{}', 'blocked', 'no column Buyer Number' from generate_series(1, 3) k`,
    );
    const {
      rows: [day],
    } = await c.query(
      `select full_runs, failed_runs, last_status, error_rate::text from buyer_sync_api.daily_error_rate`,
    );
    expect(day).toEqual({ full_runs: 4, failed_runs: 3, last_status: 'failed', error_rate: '100.00' });
    expect((await c.query(`select latest_error_rate::text as r, level from buyer_sync.verdict`)).rows[0]).toEqual({
      r: '100.00',
      level: 'failing',
    });
  } finally {
    await c.query('rollback');
    c.release();
  }
});

it('is planned as the one row it is, under jit_above_cost: no dashboard load pays for compiling it', async () => {
  // A fresh database, its singleton tables never analyzed (autovacuum would wait for 50 changes): the planner's worst case.
  const { rows: explained } = await db.pool.query<{
    'QUERY PLAN': { Plan: { 'Plan Rows': number; 'Total Cost': number } }[];
  }>(`explain (format json) select * from buyer_sync.verdict`);
  const plans = explained[0]!['QUERY PLAN'];
  const { rows: setting } = await db.pool.query<{ jit_above_cost: string }>(`show jit_above_cost`);
  const limit = setting[0]!.jit_above_cost;
  expect(plans[0]!.Plan['Plan Rows']).toBe(1);
  expect(plans[0]!.Plan['Total Cost']).toBeLessThan(Math.min(Number(limit), 100_000) / 100);
});
