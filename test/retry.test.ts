/**
 * The retry queue against a real database: the design's Properties 9-12 as
 * fast-check properties, and the whole schedule (an immediate retry in the
 * run, then 1, 5 and 15 minutes, then failed with one alert) with a fault
 * injected from the database side. Time is driven by moving next_retry_at,
 * never by sleeping.
 */
import fc from 'fast-check';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import type { SheetSource } from '../src/sheet/source.ts';
import { contentHash, hashPart } from '../src/sync/content-hash.ts';
import { ERROR_TYPES, isRetryable } from '../src/sync/error-types.ts';
import { processRetryQueue, retryRoundJson } from '../src/sync/retry-round.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { cellsOf, expectedFates, sheetArb } from './arbitraries.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const db = useTestDatabase();
beforeAll(async () => {
  await db.pool.query(`
    create table public.fault_buyers (buyer_number text primary key);
    create function public.inject_fault() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from public.fault_buyers f where f.buyer_number = new.buyer_number) then
        raise exception 'injected fault' using errcode = '40001';
      end if;
      return new;
    end $$;
    create trigger inject_fault before insert or update on public.buyers for each row execute function public.inject_fault();`);
});
beforeEach(async () => {
  await resetSyncState(db.pool);
  await db.pool.query('delete from public.fault_buyers');
});

const RUNS = { numRuns: 100 };
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const fullSync = (source: SheetSource) => syncBuyers(db.pool, { mode: 'full', source, mapping });
const round = (sourceFor: (d: string | null) => SheetSource, limit = 100) =>
  processRetryQueue(db.pool, { mapping, limit, sourceFor });
/** Time passes: every pending entry is due. */
const everythingDue = () =>
  db.pool.query(`update retry_queue set next_retry_at = now() - interval '1 second' where status = 'pending'`);
const faults = async (keys: string[]) => {
  await db.pool.query('delete from public.fault_buyers');
  if (keys.length > 0) await db.pool.query('insert into public.fault_buyers select unnest($1::text[])', [keys]);
};
const entries = async () =>
  (
    await db.pool.query<{
      buyer_number: string;
      status: string;
      resolution: string | null;
      attempt_count: number;
      delay: string | null;
      resolved_run_id: string | null;
      resolved_at: Date | null;
    }>(
      `select buyer_number, status, resolution, attempt_count,
              case when status = 'pending' then (next_retry_at - updated_at)::text end as delay, resolved_run_id, resolved_at
         from retry_queue order by buyer_number`,
    )
  ).rows;
const alerts = async () =>
  (
    await db.pool.query<{ type: string; severity: string; buyer: string; message: string }>(
      // One alert per run names every buyer it failed for good (details.buyer_numbers): a row per buyer named.
      `select a.type, a.severity, b.buyer, a.message
         from sync_alerts a
        cross join lateral jsonb_array_elements_text(coalesce(a.details->'buyer_numbers', jsonb_build_array(a.details->>'buyer_number'))) as b(buyer)
        where a.type = 'permanent_failure' and a.resolves is null
        order by 3`,
    )
  ).rows;

describe('one definition of each policy', () => {
  it('the error types and which are retried: TypeScript and buyer_sync.error_types agree', async () => {
    const { rows } = await db.pool.query<{ error_type: string; retryable: boolean }>(
      `select error_type, retryable from buyer_sync.error_types order by 1`,
    );
    expect(rows).toEqual([...ERROR_TYPES].sort().map((t) => ({ error_type: t, retryable: isRetryable(t) })));
  });

  it('the content hash: TypeScript and buyer_sync.hash_part agree on any values', async () => {
    const value = fc.option(
      fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\u0000')),
      { nil: null },
    );
    await fc.assert(
      fc.asyncProperty(
        value,
        fc.option(fc.integer({ min: -700_000, max: 2_900_000 }), { nil: null }),
        fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: null }),
        async (text, days, amount) => {
          const date =
            days === null ? null : new Date(Date.UTC(2000, 0, 1) + days * 86_400_000).toISOString().slice(0, 10);
          const ts = contentHash([
            hashPart('text', text, null),
            hashPart('date', date, days),
            hashPart('bigint', amount === null ? null : amount.toString(), null),
          ]);
          const { rows } = await db.pool.query<{ h: string }>(
            `select md5(buyer_sync.hash_part($1::text) || buyer_sync.hash_part($2::date) || buyer_sync.hash_part($3::bigint)) as h`,
            [text, date, amount === null ? null : amount.toString()],
          );
          expect(rows[0]!.h).toBe(ts);
        },
      ),
      RUNS,
    );
  });

  it('the schedule is SQL an analyst can read: 1, 5, 15 minutes, then none', async () => {
    const { rows } = await db.pool.query(
      `select a, (buyer_sync.next_retry_at(a, timestamptz '2026-01-01 00:00Z') - timestamptz '2026-01-01 00:00Z')::text as delay from generate_series(1, 4) a`,
    );
    expect(rows).toEqual([
      { a: 1, delay: '00:01:00' },
      { a: 2, delay: '00:05:00' },
      { a: 3, delay: '00:15:00' },
      { a: 4, delay: null },
    ]);
  });
});

describe('Properties 9 and 12: what is queued', () => {
  it('every retryable failure with a buyer number is queued; nothing else is, and sync_error_log.retryable says which', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 25 }), async (rows) => {
        await resetSyncState(db.pool);
        const r = await fullSync(new ArraySheetSource(HEADER, rows.map(cellsOf), 'sheet'));
        const fates = expectedFates(rows);
        const queueable = new Set(
          fates.flatMap((f) =>
            f.fate === 'failed' && f.type !== 'constraint_violation' && f.buyerNumber !== null ? [f.buyerNumber] : [],
          ),
        );
        const synced = new Set(fates.flatMap((f) => (f.fate === 'synced' ? [f.key] : [])));
        const queue = await entries();
        // 9: queued and pending (a row failed and no other row synced the buyer; if one did, the failed row is a duplicate).
        expect(new Set(queue.map((e) => e.buyer_number))).toEqual(queueable);
        for (const e of queue) {
          expect(synced.has(e.buyer_number)).toBe(false);
          expect(e).toMatchObject({ status: 'pending', attempt_count: 1, delay: '00:01:00' });
        }
        // 12: a constraint_violation, or a row without a buyer number, is never queued and says so.
        const { rows: logged } = await db.pool.query<{
          buyer_number: string | null;
          error_type: string;
          retryable: boolean;
        }>(`select buyer_number, error_type, retryable from sync_error_log where run_id = $1`, [r.runId]);
        for (const e of logged)
          expect(e.retryable).toBe(e.error_type !== 'constraint_violation' && e.buyer_number !== null);
      }),
      RUNS,
    );
  });
});

describe('Properties 10 and 11: the schedule', () => {
  it('a buyer is retried at most 3 times (1, 5, 15 minutes), then fails for good with one critical alert; a retry that succeeds closes its entry and logs it', async () => {
    const buyers = ['A', 'B', 'C', 'D', 'E', 'F'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 6, maxLength: 6 }), async (failures) => {
        await resetSyncState(db.pool);
        const k = new Map(buyers.map((b, i) => [b, failures[i]!]));
        const sheet = new ArraySheetSource(
          HEADER,
          [...buyers.map((b) => row(b, { 1: `name ${b}` })), row('OK')],
          'sheet',
        );
        const sourceFor = () => sheet;
        await faults(buyers.filter((b) => k.get(b)! >= 1));
        await fullSync(sheet); // attempt 1, with its immediate retry inside the run
        for (let attempt = 2; attempt <= 7; attempt++) {
          // Each buyer's fault lasts for its first k attempts.
          await faults(buyers.filter((b) => k.get(b)! >= attempt));
          const before = await entries();
          await everythingDue();
          const r = await round(sourceFor);
          expect(r.processed).toBe(before.filter((e) => e.status === 'pending').length);
          expect(r.processed).toBe(r.succeeded + r.failed + r.permanentlyFailed);
          for (const e of await entries())
            if (e.status === 'pending') expect(e.delay).toBe(['00:01:00', '00:05:00', '00:15:00'][e.attempt_count - 1]);
        }
        const queue = new Map((await entries()).map((e) => [e.buyer_number, e]));
        const alerted = await alerts();
        const { rows: inDb } = await db.pool.query<{ buyer_number: string }>('select buyer_number from buyers');
        const present = new Set(inDb.map((b) => b.buyer_number));
        for (const b of buyers) {
          const n = k.get(b)!;
          if (n === 0) {
            expect(queue.has(b)).toBe(false);
            expect(present.has(b)).toBe(true);
          } else if (n <= 3) {
            // 11: closed, with the run that synced it and when.
            expect(queue.get(b)).toMatchObject({ status: 'succeeded', resolution: 'synced', attempt_count: n });
            expect(queue.get(b)!.resolved_run_id).not.toBeNull();
            expect(queue.get(b)!.resolved_at).toBeInstanceOf(Date);
            expect(present.has(b)).toBe(true);
          } else {
            // 10: four attempts (one and three retries), then failed for good.
            expect(queue.get(b)).toMatchObject({ status: 'failed', resolution: 'exhausted', attempt_count: 4 });
            expect(present.has(b)).toBe(false);
          }
        }
        const exhausted = buyers.filter((b) => k.get(b)! >= 4);
        expect(alerted.map((a) => a.buyer)).toEqual(exhausted);
        for (const a of alerted) expect(a).toMatchObject({ type: 'permanent_failure', severity: 'critical' });
        expect(present.has('OK')).toBe(true);
      }),
      // Each run draws six buyers' fault lengths (0-6 attempts) and walks seven rounds: 30 runs draw 180 lengths,
      // each of the seven about 25 times, in every combination that matters (the buyers are independent).
      { numRuns: 30 },
    );
  });

  it('the whole schedule, step by step: pending → +1 min → +5 → +15 → failed with one alert; a fault cleared in between succeeds; other buyers untouched', async () => {
    const sheet = new ArraySheetSource(HEADER, [row('STUCK', { 1: '秘密の名前' }), row('HEALS'), row('FINE')], 'sheet');
    const sourceFor = () => sheet;
    await faults(['STUCK', 'HEALS']);
    const first = await fullSync(sheet);
    expect(first).toMatchObject({ inserted: 1, failed: 2, errorsByType: { transient: 2 } });
    const fineBefore = (await db.pool.query(`select xmin::text as x from buyers where buyer_number = 'FINE'`)).rows[0]
      .x;
    expect(await entries()).toMatchObject([
      { buyer_number: 'HEALS', status: 'pending', attempt_count: 1, delay: '00:01:00' },
      { buyer_number: 'STUCK', status: 'pending', attempt_count: 1, delay: '00:01:00' },
    ]);
    // Not due yet: a round does nothing.
    expect(retryRoundJson(await round(sourceFor))).toEqual({
      processed: 0,
      succeeded: 0,
      failed: 0,
      permanently_failed: 0,
    });

    await everythingDue();
    expect(retryRoundJson(await round(sourceFor))).toEqual({
      processed: 2,
      succeeded: 0,
      failed: 2,
      permanently_failed: 0,
    });
    expect(await entries()).toMatchObject([
      { buyer_number: 'HEALS', attempt_count: 2, delay: '00:05:00' },
      { buyer_number: 'STUCK', attempt_count: 2, delay: '00:05:00' },
    ]);

    await faults(['STUCK']); // someone fixed HEALS
    await everythingDue();
    expect(retryRoundJson(await round(sourceFor))).toEqual({
      processed: 2,
      succeeded: 1,
      failed: 1,
      permanently_failed: 0,
    });
    expect(await entries()).toMatchObject([
      { buyer_number: 'HEALS', status: 'succeeded', resolution: 'synced', attempt_count: 2 },
      { buyer_number: 'STUCK', status: 'pending', attempt_count: 3, delay: '00:15:00' },
    ]);

    await everythingDue();
    expect(retryRoundJson(await round(sourceFor))).toEqual({
      processed: 1,
      succeeded: 0,
      failed: 0,
      permanently_failed: 1,
    });
    expect((await entries())[1]).toMatchObject({
      buyer_number: 'STUCK',
      status: 'failed',
      resolution: 'exhausted',
      attempt_count: 4,
    });
    const [alert, ...more] = await alerts();
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ type: 'permanent_failure', severity: 'critical', buyer: 'STUCK' });
    expect(alert!.message).toMatch(
      /^buyer STUCK could not be synced after 4 attempt\(s\): row 2: the database failed on the row for a passing reason \(40001/,
    );
    expect(alert!.message).not.toContain('秘密');

    // Nothing is due any more, and the healthy buyer was never rewritten.
    await everythingDue();
    expect(retryRoundJson(await round(sourceFor))).toEqual({
      processed: 0,
      succeeded: 0,
      failed: 0,
      permanently_failed: 0,
    });
    expect((await db.pool.query(`select xmin::text as x from buyers where buyer_number = 'FINE'`)).rows[0].x).toBe(
      fineBefore,
    );
    const { rows: runs } = await db.pool.query(`select mode from sync_runs order by started_at`);
    expect(runs.map((r) => r.mode)).toEqual(['full', 'retry', 'retry', 'retry']);
  });

  it('every path that fails a queued buyer makes an attempt when its retry is due, and only then: a full sync before it counts nothing', async () => {
    const sheet = new ArraySheetSource(HEADER, [row('X')], 'sheet');
    await faults(['X']);
    // Four syncs in a row, none of them due (0.9.1 counted each: failed for good in minutes).
    for (let i = 1; i <= 4; i++) await fullSync(sheet);
    expect(await entries()).toMatchObject([{ buyer_number: 'X', status: 'pending', attempt_count: 1 }]);
    expect(await alerts()).toHaveLength(0);
    // Scheduled syncs once each retry is due count as its attempts.
    for (let i = 2; i <= 4; i++) {
      await everythingDue();
      await fullSync(sheet);
    }
    expect(await entries()).toMatchObject([
      { buyer_number: 'X', status: 'failed', resolution: 'exhausted', attempt_count: 4 },
    ]);
    expect(await alerts()).toHaveLength(1);
    // Failed for good, its row unchanged: no new entry, no new alert.
    await fullSync(sheet);
    expect(await entries()).toHaveLength(1);
    expect(await alerts()).toHaveLength(1);
  });
});

describe('retry rounds', () => {
  it('a buyer whose row left the sheet closes its entry as left_sheet; one that now fails for a reason retrying cannot fix fails for good', async () => {
    const before = new ArraySheetSource(HEADER, [row('GONE', { 5: 'someday' }), row('DUP', { 5: 'someday' })], 'sheet');
    await fullSync(before);
    expect((await entries()).map((e) => e.status)).toEqual(['pending', 'pending']);
    // Now GONE is no longer on the sheet, and DUP is a lookalike of an earlier row.
    const after = new ArraySheetSource(HEADER, [row('ＤＵＰ'), row('DUP', { 5: 'someday' })], 'sheet');
    await everythingDue();
    const r = await round(() => after);
    expect(retryRoundJson(r)).toEqual({ processed: 2, succeeded: 1, failed: 0, permanently_failed: 1 });
    expect(r.leftSheet).toBe(1);
    expect(await entries()).toMatchObject([
      { buyer_number: 'DUP', status: 'failed', resolution: 'not_retryable' },
      { buyer_number: 'GONE', status: 'succeeded', resolution: 'left_sheet' },
    ]);
    expect((await alerts()).map((a) => a.buyer)).toEqual(['DUP']);
  });

  it('a round reads each sheet once, however many of its buyers are due, and takes at most its limit', async () => {
    const sheets = {
      a: new ArraySheetSource(
        HEADER,
        Array.from({ length: 8 }, (_, i) => row(`A${i}`, { 5: 'bad' })),
        'sheet-a',
      ),
      b: new ArraySheetSource(HEADER, [row('B0', { 5: 'bad' })], 'sheet-b'),
    };
    await fullSync(sheets.a);
    await fullSync(sheets.b);
    await everythingDue();
    const opened: (string | null)[] = [];
    const sourceFor = (d: string | null) => {
      opened.push(d);
      return d === 'sheet-b' ? sheets.b : sheets.a;
    };
    const r = await round(sourceFor, 5);
    expect(r).toMatchObject({ processed: 5, failed: 5, deferred: 4 });
    expect(opened).toEqual(['sheet-a']);
    opened.length = 0;
    const rest = await round(sourceFor, 100);
    expect(rest.processed).toBe(4);
    expect(opened.sort()).toEqual(['sheet-a', 'sheet-b']);
  });

  it("a sheet that cannot be read is not the buyers' fault: their entries wait, unchanged", async () => {
    await fullSync(new ArraySheetSource(HEADER, [row('W', { 5: 'bad' })], 'sheet'));
    await everythingDue();
    const unreadable: SheetSource = {
      description: 'sheet',
      open: async () => {
        const { CannotRunError } = await import('../src/errors.ts');
        throw new CannotRunError('the sheet export is gone');
      },
    };
    const r = await round(() => unreadable);
    expect(r).toMatchObject({ processed: 0, skipped: [{ source: 'sheet', reason: 'the sheet export is gone' }] });
    expect(await entries()).toMatchObject([{ buyer_number: 'W', status: 'pending', attempt_count: 1 }]);
  });
});
