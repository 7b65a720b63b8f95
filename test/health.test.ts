/**
 * Monitoring against a real database: the design's Properties 13-16 as
 * fast-check properties (100 runs each) over hostile generated sheets, the
 * health views, the conditions beyond the design (slow and stale syncs),
 * alerts once per condition with a resolved notice, and runs that could not
 * run recorded with their reason.
 */
import fc from 'fast-check';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { CannotRunError } from '../src/errors.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { checkHealth, evaluateHealth } from '../src/monitor/health.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import type { SheetSource } from '../src/sheet/source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { processRetryQueue } from '../src/sync/retry-round.ts';
import type { SyncResult } from '../src/sync/types.ts';
import { cellsOf, expectedFates, keyPoolArb, sheetArb, type GeneratedRow } from './arbitraries.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const db = useTestDatabase();
beforeEach(async () => {
  await resetSyncState(db.pool);
  await thresholds({});
});

const RUNS = { numRuns: 100 };
const source = (rows: GeneratedRow[], description = 'generated') =>
  new ArraySheetSource(HEADER, rows.map(cellsOf), description);
const fullSync = (src: SheetSource) => syncBuyers(db.pool, { mode: 'full', source: src, mapping });
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const sheetOf = (rows: string[][], description = 'sheet') => new ArraySheetSource(HEADER, rows, description);

/** A sheet that cannot be read: what Google refusing, or a missing file, looks like to the engine. */
class UnreadableSheet implements SheetSource {
  readonly description = 'gsheets:unreadable';
  async open(): Promise<never> {
    throw new CannotRunError(
      'spreadsheet unreadable was not found (404 NOT_FOUND): check the URL or id in SHEET_SOURCE',
    );
  }
}

async function thresholds(t: { missing?: number; errorRate?: number; slow?: string; stale?: string }) {
  await db.pool.query(
    `update buyer_sync.alert_thresholds set missing_buyers_max = $1, error_rate_max = $2, slow_sync_after = $3::interval, stale_after = $4::interval`,
    [t.missing ?? 10, t.errorRate ?? 5, t.slow ?? '5 minutes', t.stale ?? '1 hour'],
  );
}

interface AlertRow {
  id: string;
  type: string;
  severity: string;
  condition: string;
  message: string;
  details: Record<string, unknown>;
  resolved_at: Date | null;
  resolves: string | null;
}
const alerts = async (type?: string) =>
  (
    await db.pool.query<AlertRow>(
      `select * from sync_alerts where ($1::text is null or type = $1) order by created_at, id`,
      [type ?? null],
    )
  ).rows;
const open = (list: AlertRow[]) => list.filter((a) => a.resolves === null && a.resolved_at === null);
const raised = (list: AlertRow[]) => list.filter((a) => a.resolves === null);
const notices = (list: AlertRow[]) => list.filter((a) => a.resolves !== null);

/** The usable buyer numbers of a generated sheet's non-blank rows: what the sheet shows, whatever became of the rows. */
function sheetKeys(rows: GeneratedRow[]): Set<string> {
  return new Set(
    rows.filter((r) => r.key.usable && r.key.key !== null && r.key.text.trim() !== '').map((r) => r.key.key!),
  );
}
async function databaseKeys(): Promise<Set<string>> {
  return new Set((await db.pool.query<{ b: string }>('select buyer_number as b from buyers')).rows.map((r) => r.b));
}
const minus = <T>(a: Set<T>, b: Set<T>) => new Set([...a].filter((x) => !b.has(x)));

describe('Property 13: missing buyers', () => {
  it('a missing_buyers alert is open exactly while more buyers than the threshold are missing, by set difference; one per condition over repeated checks; a resolved notice when it clears', async () => {
    await fc.assert(
      fc.asyncProperty(
        keyPoolArb(40).chain((pool) =>
          fc.tuple(
            fc.constant(pool),
            sheetArb({ pool, maxRows: 45 }),
            fc.integer({ min: 0, max: 12 }),
            fc.array(fc.boolean(), { minLength: 45, maxLength: 45 }),
            fc.integer({ min: 0, max: 15 }),
          ),
        ),
        async ([, rows, threshold, dropMask, extras]) => {
          await resetSyncState(db.pool);
          await thresholds({ missing: threshold, errorRate: 100 });
          await fullSync(source(rows));
          // The database drifts: some buyers deleted, some added that the sheet never had.
          const synced = [...(await databaseKeys())];
          const dropped = synced.filter((_, i) => dropMask[i % dropMask.length]);
          if (dropped.length > 0)
            await db.pool.query('delete from buyers where buyer_number = any($1::text[])', [dropped]);
          if (extras > 0)
            await db.pool.query(
              `insert into buyers (buyer_number) select 'extra ' || i || ' 東' from generate_series(1, $1) i`,
              [extras],
            );

          const expectedMissing = minus(sheetKeys(rows), await databaseKeys());
          const first = await checkHealth(db.pool, { source: source(rows), mapping });
          const second = await checkHealth(db.pool, { source: source(rows), mapping });
          for (const h of [first, second]) {
            expect(h.missingCount).toBe(expectedMissing.size);
            expect(h.spreadsheetCount).toBe(sheetKeys(rows).size);
            expect(h.healthy).toBe(h.issues.length === 0);
          }
          const { rows: view } = await db.pool.query<{ buyer_number: string }>(
            'select buyer_number from buyer_sync.missing_buyers',
          );
          expect(new Set(view.map((r) => r.buyer_number))).toEqual(expectedMissing);
          // One alert per condition: the second check raised nothing new.
          expect(second.alerts).toEqual([]);
          const missingAlerts = await alerts('missing_buyers');
          expect(open(missingAlerts)).toHaveLength(expectedMissing.size > threshold ? 1 : 0);
          if (expectedMissing.size > threshold) {
            // Raised by the sync or by a check, whichever saw the condition first; it stays the one alert while the condition lasts.
            expect(open(missingAlerts)[0]).toMatchObject({ severity: 'error', details: { threshold } });
            expect(open(missingAlerts)[0]!.details.missing_count).toBeGreaterThan(threshold);
            expect(second.issues.join('\n')).toContain(
              `${expectedMissing.size} buyer(s) on the sheet are not in the database`,
            );
          }

          // The missing buyers come back: the alert (if any) resolves, with exactly one notice.
          if (expectedMissing.size > 0)
            await db.pool.query('insert into buyers (buyer_number) select unnest($1::text[])', [[...expectedMissing]]);
          const wasOpen = open(await alerts('missing_buyers')).length;
          const third = await checkHealth(db.pool, { source: source(rows), mapping });
          expect(third.missingCount).toBe(0);
          const after = await alerts('missing_buyers');
          expect(open(after)).toHaveLength(0);
          expect(third.alerts.filter((a) => a.resolved && a.type === 'missing_buyers')).toHaveLength(wasOpen);
          // Every raised alert got exactly one notice when it cleared.
          expect(
            notices(after)
              .map((n) => n.resolves)
              .sort(),
          ).toEqual(
            raised(after)
              .filter((a) => a.resolved_at !== null)
              .map((a) => a.id)
              .sort(),
          );
        },
      ),
      RUNS,
    );
  });

  it('356 missing and 356 extra: equal counts, and still 356 missing', async () => {
    const keys = Array.from({ length: 400 }, (_, i) => `B${String(i).padStart(5, '0')}`);
    await fullSync(sheetOf(keys.map((k) => row(k))));
    await db.pool.query(`delete from buyers where buyer_number = any($1::text[])`, [keys.slice(0, 356)]);
    await db.pool.query(`insert into buyers (buyer_number) select 'X' || i from generate_series(1, 356) i`);
    const h = await checkHealth(db.pool, { source: sheetOf(keys.map((k) => row(k))), mapping });
    expect(h.spreadsheetCount).toBe(h.databaseCount);
    expect(h).toMatchObject({ healthy: false, missingCount: 356, extraCount: 356 });
    expect(open(await alerts('missing_buyers'))).toHaveLength(1);
  });
});

describe('Property 14: error rate', () => {
  it('the error rate is the percent of the last full sync’s non-blank rows that failed; high_error_rate is raised by the run itself exactly when it exceeds the threshold, and resolves on a clean run', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 30 }), fc.integer({ min: 0, max: 100 }), async (rows, threshold) => {
        await resetSyncState(db.pool);
        await thresholds({ missing: 1000, errorRate: threshold });
        const fates = expectedFates(rows);
        const failed = fates.filter((f) => f.fate === 'failed').length;
        const nonBlank = fates.filter((f) => f.fate !== 'blank').length;
        const expected = nonBlank === 0 ? 0 : (100 * failed) / nonBlank;

        const r = await fullSync(source(rows));
        const h = await evaluateHealth(db.pool);
        expect(h.errorRate).toBeCloseTo(expected, 2);
        const above = h.errorRate > threshold;
        expect(r.alerts.filter((a) => a.type === 'high_error_rate' && !a.resolved)).toHaveLength(above ? 1 : 0);
        expect(h.alerts).toEqual([]); // the run raised it already: one per condition
        expect(open(await alerts('high_error_rate'))).toHaveLength(above ? 1 : 0);
        if (above)
          expect(open(await alerts('high_error_rate'))[0]!.details).toMatchObject({
            failed,
            non_blank_rows: nonBlank,
            run_id: r.runId,
          });

        // The sheet fixed (only its good rows): the rate drops to 0 and the alert resolves.
        const good = rows.filter((_, i) => fates[i]!.fate === 'synced');
        const clean = await fullSync(source(good));
        expect((await evaluateHealth(db.pool)).errorRate).toBe(0);
        expect(clean.alerts.filter((a) => a.type === 'high_error_rate' && a.resolved)).toHaveLength(above ? 1 : 0);
        expect(open(await alerts('high_error_rate'))).toHaveLength(0);
      }),
      RUNS,
    );
  });

  it('over any time period: buyer_sync.error_rate(since, until) is the failed share of the non-blank rows of the runs in it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(sheetArb({ maxRows: 12 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (sheets, pick) => {
          await resetSyncState(db.pool);
          const results: SyncResult[] = [];
          for (const rows of sheets) results.push(await fullSync(source(rows)));
          const rate = (rs: SyncResult[]) => {
            const nb = rs.reduce((n, r) => n + r.totalRows - r.blankRows, 0);
            return nb === 0 ? 0 : (100 * rs.reduce((n, r) => n + r.failed, 0)) / nb;
          };
          const { rows: all } = await db.pool.query<{ r: string }>(`select buyer_sync.error_rate('-infinity') as r`);
          expect(Number(all[0]!.r)).toBeCloseTo(rate(results), 2);
          // From the start of one run on.
          const from = pick % results.length;
          const { rows: since } = await db.pool.query<{ r: string }>(
            `select buyer_sync.error_rate((select started_at from sync_runs where id = $1)) as r`,
            [results[from]!.runId],
          );
          expect(Number(since[0]!.r)).toBeCloseTo(rate(results.slice(from)), 2);
        },
      ),
      RUNS,
    );
  });
});

describe('Property 15: permanent failures', () => {
  it('every buyer that fails all its retries gets one critical alert naming it and no cell value, one while it lasts, resolved once a full sync writes it', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 10 }), async (rows) => {
        await resetSyncState(db.pool);
        await thresholds({ missing: 1000, errorRate: 100 });
        const fates = expectedFates(rows);
        const failing = new Set(
          fates.flatMap((f) =>
            f.fate === 'failed' && f.type === 'data_type' && f.buyerNumber !== null ? [f.buyerNumber] : [],
          ),
        );
        const sheet = source(rows);
        await fullSync(sheet);
        for (let i = 0; i < 3; i++) {
          await db.pool.query(
            `update retry_queue set next_retry_at = now() - interval '1 second' where status = 'pending'`,
          );
          await processRetryQueue(db.pool, { mapping, limit: 100, sourceFor: () => sheet });
        }
        // Property 15: every buyer failed for good is named in an alert; one alert per run (here, the last retry round).
        const permanent = raised(await alerts('permanent_failure'));
        const named = permanent.flatMap((a) => a.details.buyer_numbers as string[]);
        expect(new Set(named)).toEqual(failing);
        expect(named.length).toBe(failing.size);
        expect(permanent.length).toBe(failing.size === 0 ? 0 : 1);
        for (const a of permanent) {
          expect(a.severity).toBe('critical');
          expect(a.condition).toBe(`permanent_failure:run:${a.details.run_id}`);
          expect(a.details.count).toBe((a.details.buyer_numbers as string[]).length);
        }
        // No cell value other than the buyer number anywhere in an alert. Checked for values no alert text could
        // hold by chance: four or more characters, non-ASCII or twelve long, not part of a buyer number (a formula
        // error such as #REF! is named: it is the rule, not data).
        const text = JSON.stringify(await alerts());
        const keys = rows.map((r) => r.key.text);
        for (const r of rows) {
          for (const c of r.cells) {
            const v = c.text.trim();
            const distinctive =
              // eslint-disable-next-line no-control-regex -- all of ASCII
              v.length >= 4 && (v.length >= 12 || /[^\x00-\x7f]/.test(v)) && !keys.some((k) => k.includes(v));
            if (distinctive) expect(text).not.toContain(JSON.stringify(v).slice(1, -1));
          }
        }

        // The same buyers failing for good again while their alert is open: still the one alert, naming each once.
        for (const b of failing) {
          await db.pool.query(
            `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, resolution, resolved_at)
             values ($1, '{}', 4, now(), 'failed', 'exhausted', now())`,
            [b],
          );
        }
        expect(raised(await alerts('permanent_failure'))).toHaveLength(failing.size === 0 ? 0 : 1);
        expect((await evaluateHealth(db.pool)).issues.some((i) => i.includes('failed for good'))).toBe(
          failing.size > 0,
        );

        // The rows fixed: the next full sync writes the buyers without an error, and each alert resolves with one notice.
        const fixed = rows.map((r) => ({
          ...r,
          cells: r.cells.map((c) => ('bad' in c.expect ? { text: '', expect: { ok: null } } : c)),
        }));
        const after = await fullSync(source(fixed));
        // One alert named them all: it resolves once, with one notice.
        const once = failing.size === 0 ? 0 : 1;
        expect(after.alerts.filter((a) => a.type === 'permanent_failure' && a.resolved)).toHaveLength(once);
        const all = await alerts('permanent_failure');
        expect(open(all)).toHaveLength(0);
        expect(notices(all)).toHaveLength(once);
      }),
      // A run is two full syncs, three retry rounds and a health check over a hostile sheet of up to ten rows: 50
      // runs put some 250 rows, failing and not, through the whole schedule and every alert's text.
      { numRuns: 50 },
    );
  }, 300_000);
});

describe('Property 16: dashboard statistics', () => {
  const op = fc.oneof(
    { weight: 3, arbitrary: sheetArb({ maxRows: 15 }) },
    { weight: 1, arbitrary: fc.constant('refused' as const) },
  );
  it('buyer_sync.dashboard_summary shows the success rates, error rate, missing count and retry queue that the runs and tables hold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 4 }), async (ops) => {
        await resetSyncState(db.pool);
        let last: { result: SyncResult; rows: GeneratedRow[] } | null = null;
        let refused = 0;
        for (const o of ops) {
          if (o === 'refused') {
            await expect(fullSync(new UnreadableSheet())).rejects.toThrow(CannotRunError);
            refused++;
          } else {
            last = { result: await fullSync(source(o)), rows: o };
          }
        }
        const { rows } = await db.pool.query('select * from buyer_sync.dashboard_summary');
        const d = rows[0];
        const dbKeys = await databaseKeys();
        const onSheet = last ? sheetKeys(last.rows) : new Set<string>();
        const errorRate = last
          ? last.result.totalRows === last.result.blankRows
            ? 0
            : (100 * last.result.failed) / (last.result.totalRows - last.result.blankRows)
          : 0;
        const raw = async (sql: string) => (await db.pool.query<{ n: number }>(sql)).rows[0]!.n;
        expect(Number(d.error_rate)).toBeCloseTo(errorRate, 2);
        expect(d.row_success_rate === null ? null : Number(d.row_success_rate)).toEqual(
          last ? expect.closeTo(100 - errorRate, 1) : null,
        );
        expect(d.runs_24h).toBe(ops.length);
        expect(d.failed_runs_24h).toBe(refused);
        expect(Number(d.run_success_rate_24h)).toBeCloseTo((100 * (ops.length - refused)) / ops.length, 1);
        expect(d.missing_count).toBe(minus(onSheet, dbKeys).size);
        expect(d.extra_count).toBe(last ? minus(dbKeys, onSheet).size : dbKeys.size);
        expect(d.spreadsheet_count).toBe(onSheet.size);
        expect(d.database_count).toBe(dbKeys.size);
        expect(d.retry_queue_size).toBe(
          await raw(`select count(*)::int as n from retry_queue where status in ('pending', 'processing')`),
        );
        expect(d.open_alerts).toBe(
          await raw(`select count(*)::int as n from sync_alerts where resolved_at is null and resolves is null`),
        );
        expect(d.last_sync_time === null ? null : d.last_sync_time.getTime()).toBe(
          last
            ? (
                await db.pool.query<{ t: Date }>('select finished_at as t from sync_runs where id = $1', [
                  last.result.runId,
                ])
              ).rows[0]!.t.getTime()
            : null,
        );
      }),
      RUNS,
    );
  });
});

describe('slow and stale syncs', () => {
  it('slow_sync when the last full sync took longer than the limit; resolved when one is quick again', async () => {
    await thresholds({ slow: '1 millisecond' });
    const slow = await fullSync(sheetOf([row('S1'), row('S2')]));
    expect(slow.alerts.map((a) => a.type)).toContain('slow_sync');
    const [alert] = open(await alerts('slow_sync'));
    expect(alert).toMatchObject({ severity: 'warning', details: { limit_ms: 1, run_id: slow.runId } });
    await thresholds({ slow: '1 hour' });
    const quick = await fullSync(sheetOf([row('S1'), row('S2')]));
    expect(quick.alerts).toEqual([expect.objectContaining({ type: 'slow_sync', resolved: true, severity: 'info' })]);
  });

  it('stale_sync when no full sync succeeded within the window, even when every attempt failed; a failed run says why in sync_runs', async () => {
    await thresholds({ stale: '1 hour' });
    await fullSync(sheetOf([row('T1')]));
    // Time passes: the last success was two hours ago, and since then the sheet could not be read.
    await db.pool.query(
      `update sync_runs set started_at = started_at - interval '2 hours', finished_at = finished_at - interval '2 hours'`,
    );
    await expect(fullSync(new UnreadableSheet())).rejects.toThrow(/was not found/);
    const h = await evaluateHealth(db.pool);
    expect(h.healthy).toBe(false);
    expect(h.issues.join('\n')).toMatch(/no full sync has succeeded since/);
    const [stale] = open(await alerts('stale_sync'));
    expect(stale).toMatchObject({ severity: 'error' });
    expect(stale!.details.latest_failures).toEqual([
      expect.objectContaining({
        failure: 'sheet',
        error_message: expect.stringContaining('was not found (404 NOT_FOUND)'),
      }),
    ]);
    // The view an analyst reads says the same.
    const { rows: runs } = await db.pool.query(
      `select status, failure, total_rows from buyer_sync.run_stats order by started_at`,
    );
    expect(runs).toEqual([
      { status: 'succeeded', failure: null, total_rows: 1 },
      { status: 'failed', failure: 'sheet', total_rows: 0 },
    ]);
    const { rows: days } = await db.pool.query(
      `select runs, failed_runs, failures from buyer_sync.daily_runs order by day desc limit 1`,
    );
    expect(days[0]).toMatchObject({ failed_runs: 1, failures: { sheet: 1 } });
    // A successful sync clears it.
    const back = await fullSync(sheetOf([row('T1')]));
    expect(back.alerts.map((a) => [a.type, a.resolved])).toContainEqual(['stale_sync', true]);
  });

  it('never synced: unhealthy (no full sync has succeeded yet), and not stale before anything was attempted', async () => {
    const h = await evaluateHealth(db.pool);
    expect(h).toMatchObject({
      healthy: false,
      issues: ['no full sync has succeeded yet'],
      lastSyncTime: null,
      errorRate: 0,
    });
    expect(await alerts()).toEqual([]);
  });

  it('a health check whose sheet cannot be read still judges the last snapshot, and says why', async () => {
    await fullSync(sheetOf([row('U1')]));
    const h = await checkHealth(db.pool, { source: new UnreadableSheet(), mapping });
    expect(h.sheetUnread).toMatch(/was not found/);
    expect(h.healthy).toBe(false);
    expect(h.issues).toEqual([
      expect.stringMatching(
        /^the sheet could not be read now \(spreadsheet unreadable was not found .*\); judged by its last snapshot$/,
      ),
    ]);
    const { rows } = await db.pool.query(
      'select healthy, issues, spreadsheet_count from sync_health_metrics order by check_time desc limit 1',
    );
    expect(rows[0]).toMatchObject({ healthy: false, spreadsheet_count: 1 });
  });
});

describe('the health views', () => {
  it('every view and function an analyst uses has a comment', async () => {
    const { rows } = await db.pool.query<{ name: string; comment: string | null }>(
      `select c.relname as name, obj_description(c.oid, 'pg_class') as comment
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'buyer_sync' and c.relkind in ('v', 'r')
       union all
       select p.proname, obj_description(p.oid, 'pg_proc')
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'buyer_sync'`,
    );
    const names = rows.map((r) => r.name);
    for (const v of [
      'current_health',
      'run_stats',
      'daily_runs',
      'daily_errors_by_type',
      'dashboard_summary',
      'open_alerts',
      'recent_runs',
      'latest_verification',
      'alert_thresholds',
      'alert_types',
      'health_conditions',
      'evaluate_alerts',
      'check_health',
      'error_rate',
    ]) {
      expect(names).toContain(v);
    }
    expect(rows.filter((r) => !r.comment).map((r) => r.name)).toEqual([]);
  });

  it('a health check writes one sync_health_metrics row with the design’s columns', async () => {
    await thresholds({ missing: 0 });
    await fullSync(sheetOf([row('M1'), row('M2', { 5: 'not a date' })]));
    const h = await checkHealth(db.pool, { source: sheetOf([row('M1'), row('M2', { 5: 'not a date' })]), mapping });
    const { rows } = await db.pool.query('select * from sync_health_metrics');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: h.checkId,
      spreadsheet_count: 2,
      database_count: 1,
      missing_count: 1,
      extra_count: 0,
      error_rate: '50.00',
      retry_queue_size: 1,
      healthy: false,
    });
    expect(rows[0].sync_duration_ms).toBeGreaterThanOrEqual(0);
    expect(rows[0].issues).toEqual(h.issues);
  });
});

describe('edges a review found', () => {
  it('before the first full sync the check says the sheet has not been synced yet, and the open alert follows once it has', async () => {
    const sheet = sheetOf(Array.from({ length: 15 }, (_, i) => row(`N${i}`)));
    const before = await checkHealth(db.pool, { source: sheet, mapping });
    expect(before.healthy).toBe(false);
    expect(before.issues.join('\n')).toContain(
      'the sheet has not been synced yet: its 15 buyer(s) are not in the database until the first full sync succeeds',
    );
    expect(before.issues.join('\n')).not.toMatch(/15 buyer\(s\) on the sheet are not in the database \(threshold/);
    // Synced, with 12 of them failing: the same open alert now says what is true now.
    const broken = sheetOf(Array.from({ length: 15 }, (_, i) => row(`N${i}`, i < 12 ? { 5: 'not a date' } : {})));
    await fullSync(broken);
    const [a] = open(await alerts('missing_buyers'));
    expect(a!.message).toBe(
      '12 buyer(s) on the sheet are not in the database (threshold 10); buyer-sync missing lists them',
    );
    expect(raised(await alerts('missing_buyers'))).toHaveLength(1);
  });

  it('the error rate is compared unrounded: 1 failed row of 20,001 is above a threshold of 0', async () => {
    await thresholds({ errorRate: 0 });
    await db.pool.query(
      `insert into sync_runs (mode, source, batch_size, status, finished_at, total_rows, failed, inserted)
       values ('full', 'x', 100, 'succeeded', now(), 20001, 1, 20000)`,
    );
    const h = await evaluateHealth(db.pool);
    expect(h.errorRate).toBe(0); // as shown, 0.005 % rounds to 0.00
    expect(open(await alerts('high_error_rate'))).toHaveLength(1);
  });

  it('a permanent failure stays open while the buyer’s row still fails in any way (the database refusing it), and resolves once it is written', async () => {
    await fullSync(sheetOf([row('P1', { 1: 'old' })]));
    await db.pool.query(
      `insert into retry_queue (buyer_number, error_info, attempt_count, next_retry_at, status, resolution, resolved_at)
       values ('P1', '{}', 4, now(), 'failed', 'exhausted', now())`,
    );
    await db.pool.query(
      `alter table buyers add constraint no_p1 check (buyer_number <> 'P1' or name is distinct from 'refused')`,
    );
    try {
      const refused = await fullSync(sheetOf([row('P1', { 1: 'refused' })]));
      expect(refused.failed).toBe(1);
      expect(open(await alerts('permanent_failure'))).toHaveLength(1); // P1 is in buyers, but its row failed
    } finally {
      await db.pool.query(`alter table buyers drop constraint no_p1`);
    }
    const written = await fullSync(sheetOf([row('P1', { 1: 'fixed' })]));
    expect(written.alerts).toContainEqual(expect.objectContaining({ type: 'permanent_failure', resolved: true }));
    expect(open(await alerts('permanent_failure'))).toHaveLength(0);
  });

  it('a sync reports the permanent failures its rows raised; a dry run reports them and raises nothing', async () => {
    const sheet = sheetOf([row('Q1', { 5: 'not a date' }), row('Q2')]);
    await fullSync(sheet);
    // Its last retry is due (a failure counts as an attempt only then).
    await db.pool.query(
      `update retry_queue set attempt_count = 3, next_retry_at = now() - interval '1 second' where status = 'pending'`,
    );
    const dry = await syncBuyers(db.pool, { mode: 'full', source: sheet, mapping, dryRun: true });
    expect(dry.alerts).toContainEqual(
      expect.objectContaining({ type: 'permanent_failure', severity: 'critical', resolved: false }),
    );
    expect(await alerts('permanent_failure')).toEqual([]);
    const real = await fullSync(sheet);
    expect(real.alerts).toContainEqual(
      expect.objectContaining({
        type: 'permanent_failure',
        message: expect.stringContaining('buyer Q1 could not be synced'),
      }),
    );
  });

  it('a resolved alert never ends before it began, even when a run that started earlier resolves it', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('select now()'); // the transaction's timestamp is now
      await new Promise((r) => setTimeout(r, 50));
      await db.pool.query(
        `insert into sync_alerts (type, severity, condition, message) values ('slow_sync', 'warning', 'slow_sync', 'slow')`,
      );
      const { rows } = await client.query(`select details from buyer_sync.evaluate_alerts()`);
      await client.query('commit');
      expect(rows).toHaveLength(1);
      expect(rows[0].details.lasted_seconds).toBeGreaterThanOrEqual(0);
      const { rows: a } = await db.pool.query(
        `select resolved_at >= created_at as ok from sync_alerts where resolves is null`,
      );
      expect(a).toEqual([{ ok: true }]);
    } finally {
      client.release();
    }
  });

  it('a command delivers what it raised and stops at the first failure, leaving the rest to the worker', async () => {
    const { deliverRaisedSince, databaseNow } = await import('../src/alerts/deliver.ts');
    const since = await databaseNow(db.pool);
    for (const c of ['a', 'b', 'c']) {
      await db.pool.query(
        `insert into sync_alerts (type, severity, condition, message) values ('permanent_failure', 'critical', $1, 'x')`,
        [`permanent_failure:${c}`],
      );
    }
    const { createServer } = await import('node:net');
    const closed = createServer();
    const port = await new Promise<number>((r) =>
      closed.listen(0, '127.0.0.1', () => r((closed.address() as { port: number }).port)),
    );
    await new Promise((r) => closed.close(r));
    const lines: string[] = [];
    const r = await deliverRaisedSince(db.pool, `http://127.0.0.1:${port}/`, since, { log: (l) => lines.push(l) });
    expect(r).toEqual({ delivered: 0, failed: 1, recordedOnly: 0 });
    expect(lines[1]).toBe('2 more alert(s) left to the worker (buyer-sync serve) to deliver');
    const { rows } = await db.pool.query(`select sum(delivery_attempts)::int as n from sync_alerts`);
    expect(rows[0].n).toBe(1);
    // The worker's delivery round is queued: it delivers all of them (one job, however many alerts).
    const { rows: jobs } = await db.pool.query(
      `select count(*)::int as n from graphile_worker.jobs where task_identifier = 'alerts__deliver' and key = 'alerts__deliver'`,
    );
    expect(jobs[0].n).toBe(1);
  });

  it('upgrading: alerts left undelivered before migration 057 get a delivery job each', async () => {
    const { readdirSync } = await import('node:fs');
    const { runMigrations } = await import('graphile-worker');
    const files = readdirSync(path.join(projectRoot, 'db', 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const before = files.filter((f) => f < '057');
    const { createDatabaseWith, migrationSections } = await import('./helpers.ts');
    const old = await createDatabaseWith([]);
    try {
      await runMigrations({ pgPool: old.pool });
      for (const f of before) await old.pool.query(migrationSections(f).up);
      await old.pool.query(`insert into sync_alerts (type, severity, message, delivered_at) values
        ('permanent_failure', 'critical', 'pending one', null), ('permanent_failure', 'critical', 'sent one', now())`);
      await old.pool.query(migrationSections('057_monitoring.sql').up);
      const { rows } = await old.pool.query(
        `select key from graphile_worker.jobs where task_identifier = 'alerts__deliver'`,
      );
      const { rows: pending } = await old.pool.query(`select id from sync_alerts where delivered_at is null`);
      expect(rows).toEqual([{ key: `alerts__deliver:${pending[0].id}` }]);
    } finally {
      await old.drop();
    }
  });
});
