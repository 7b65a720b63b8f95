/**
 * The library entry point (src/index.ts, the package's "."): every function
 * it exports, called through it against a real database, with a pool and
 * with a connection string. The list of exports is pinned, so a function
 * added to the entry point without a test here fails this file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as lib from '../src/index.ts';
import {
  ArraySheetSource,
  CannotRunError,
  checkHealth,
  CsvSheetSource,
  findMissing,
  getErrorStats,
  getSyncStatistics,
  loadMapping,
  logError,
  openSource,
  parseMapping,
  queryErrors,
  report,
  retryRound,
  sync,
  syncBuyerNumbers,
  verify,
} from '../src/index.ts';
import { projectRoot } from '../src/config.ts';
import { HEADER } from '../src/sample/generate.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const sheet = (rows: string[][]) => new ArraySheetSource(HEADER, rows, 'library sheet');
/** Column 5 is Inquiry Date: a cell that is no date fails its row (data_type, retryable). */
const BAD_DATE = { 5: 'not a date' };

const db = useTestDatabase();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-library-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => resetSyncState(db.pool));

describe('the entry point', () => {
  it('exports exactly these values (each function is tested below)', () => {
    expect(Object.keys(lib).sort()).toEqual(
      [
        'ArraySheetSource',
        'CannotRunError',
        'CsvSheetSource',
        'DEFAULT_BATCH_SIZE',
        'ERROR_TYPES',
        'MassChangeRefused',
        'SourceUnavailableError',
        'SyncAbortedError',
        'SyncBusy',
        'SyncCancelled',
        'UsageError',
        'checkHealth',
        'findMissing',
        'getErrorStats',
        'getSyncStatistics',
        'loadMapping',
        'logError',
        'openSource',
        'parseMapping',
        'queryErrors',
        'report',
        'retryRound',
        'sync',
        'syncBuyerNumbers',
        'verify',
      ].sort(),
    );
  });

  it('is the package\'s "." export', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, string>;
      types: string;
    };
    expect(pkg.exports['.']).toBe('./src/index.ts');
    expect(pkg.types).toBe('./src/index.ts');
  });

  it('loadMapping and parseMapping read a mapping', () => {
    expect(mapping.key).toBe('buyer_number');
    const parsed = parseMapping(
      {
        table: 'buyers',
        key: 'buyer_number',
        columns: [{ header: 'Buyer Number', column: 'buyer_number', type: 'text' }],
      },
      'inline',
    );
    expect(parsed.columns.map((c) => c.column)).toEqual(['buyer_number']);
  });
});

describe('sync', () => {
  it('a full sync with a pool: its counts, and no verification unless asked for', async () => {
    const r = await sync(db.pool, { source: sheet([row('L1', { 1: 'one' }), row('L2', BAD_DATE)]), mapping });
    expect(r).toMatchObject({
      mode: 'full',
      inserted: 1,
      failed: 1,
      verificationResult: null,
      verificationError: null,
    });
    expect(r.errorsByType.data_type).toBe(1);
  });

  it('with verify: the result carries the verification of what it wrote (trigger after_sync, this run)', async () => {
    const r = await sync(db.pool, {
      source: sheet([row('V1', { 1: 'x' }), row('V2')]),
      mapping,
      verify: { sample: null, seed: 7n },
    });
    expect(r.inserted).toBe(2);
    expect(r.verificationError).toBeNull();
    expect(r.verificationResult).toMatchObject({ trigger: 'after_sync', runId: r.runId, passed: true });
    expect(r.verificationResult!.id).not.toBeNull();
    expect(r.verificationResult!.completeness.complete).toBe(true);
  });

  it('a dry run is not verified', async () => {
    const r = await sync(db.pool, { source: sheet([row('D1')]), mapping, dryRun: true, verify: { sample: 10 } });
    expect(r).toMatchObject({ dryRun: true, inserted: 1, verificationResult: null });
    expect(Number((await db.pool.query('select count(*) from buyers')).rows[0].count)).toBe(0);
  });

  it('a connection string: a pool of its own, closed after the call', async () => {
    const r = await sync(db.url, { source: sheet([row('C1')]), mapping });
    expect(r.inserted).toBe(1);
  });

  it('a CSV file through CsvSheetSource and openSource', async () => {
    const file = path.join(dir, 'buyers.csv');
    writeFileSync(file, `${HEADER.join(',')}\n${row('F1', { 1: 'csv' }).join(',')}\n${row('F2').join(',')}\n`);
    expect((await sync(db.pool, { source: new CsvSheetSource(file), mapping })).inserted).toBe(2);
    const again = await sync(db.pool, { source: openSource(file), mapping });
    expect(again).toMatchObject({ inserted: 0, unchanged: 2 });
  });

  it('syncBuyerNumbers syncs only the listed buyers and names those not on the sheet', async () => {
    const r = await syncBuyerNumbers(db.pool, ['S2', 'NOPE'], { source: sheet([row('S1'), row('S2')]), mapping });
    expect(r).toMatchObject({ mode: 'only', inserted: 1, notOnSheet: ['NOPE'] });
    const { rows } = await db.pool.query<{ buyer_number: string }>('select buyer_number from buyers');
    expect(rows.map((x) => x.buyer_number)).toEqual(['S2']);
  });

  it('a run that cannot start throws a CannotRunError', async () => {
    const wrongSheet = new ArraySheetSource(['Something else'], [['x']]);
    await expect(sync(db.pool, { source: wrongSheet, mapping })).rejects.toBeInstanceOf(CannotRunError);
  });
});

describe('retry round, health, statistics', () => {
  it('retryRound: a failed buyer whose row is fixed syncs when its entry is due', async () => {
    await sync(db.pool, { source: sheet([row('R1', BAD_DATE)]), mapping });
    await db.pool.query(`update retry_queue set next_retry_at = now() - interval '1 second' where status = 'pending'`);
    const fixed = sheet([row('R1')]);
    const r = await retryRound(db.pool, { mapping, sourceFor: () => fixed });
    expect(r).toMatchObject({ processed: 1, succeeded: 1, failed: 0, permanentlyFailed: 0, skipped: [] });
    expect(r.runs[0]?.mode).toBe('retry');
  });

  it('checkHealth reads the sheet and judges: a buyer missing from the database is an issue', async () => {
    await sync(db.pool, { source: sheet([row('H1')]), mapping });
    const h = await checkHealth(db.pool, { source: sheet([row('H1'), row('H2')]), mapping });
    expect(h).toMatchObject({ missingCount: 1, spreadsheetCount: 2, databaseCount: 1, sheetUnread: null });
    expect(h.checkId).toBeTruthy();
  });

  it('getSyncStatistics: the dashboard summary and the latest runs', async () => {
    const empty = await getSyncStatistics(db.pool);
    expect(empty.summary).toMatchObject({ lastSyncTime: null, runs24h: 0, retryQueueSize: 0 });
    expect(empty.recentRuns).toEqual([]);
    const r = await sync(db.pool, { source: sheet([row('T1'), row('T2', BAD_DATE), row('T3'), row('T4')]), mapping });
    const s = await getSyncStatistics(db.url, { recentRuns: 5 });
    expect(s.summary).toMatchObject({
      errorRate: 25,
      rowSuccessRate: 75,
      runs24h: 1,
      failedRuns24h: 0,
      databaseCount: 3,
      retryQueueSize: 1,
    });
    expect(s.summary.lastSyncTime).toBeInstanceOf(Date);
    expect(s.recentRuns).toHaveLength(1);
    expect(s.recentRuns[0]).toMatchObject({
      runId: r.runId,
      mode: 'full',
      status: 'succeeded',
      totalRows: 4,
      nonBlankRows: 4,
      inserted: 3,
      failed: 1,
      errorRate: 25,
    });
    expect(s.recentRuns[0]!.startedAt).toBeInstanceOf(Date);
  });
});

describe('verify, missing, errors, report', () => {
  it('verify: completeness and a sample, stored', async () => {
    await sync(db.pool, { source: sheet([row('Y1', { 1: 'a' })]), mapping });
    const good = await verify(db.pool, { source: sheet([row('Y1', { 1: 'a' })]), mapping, sample: null });
    expect(good).toMatchObject({ trigger: 'command', passed: true });
    const bad = await verify(db.url, { source: sheet([row('Y1', { 1: 'b' }), row('Y2')]), mapping, sample: null });
    expect(bad.passed).toBe(false);
    expect(bad.completeness.missing).toEqual([{ buyerNumber: 'Y2', rowNumber: 3 }]);
    expect(bad.accuracy.mismatches.map((m) => m.buyerNumber)).toEqual(['Y1']);
  });

  it('findMissing: both set differences', async () => {
    await sync(db.pool, { source: sheet([row('M1'), row('M2')]), mapping });
    const m = await findMissing(db.pool, { source: sheet([row('M2'), row('M3')]), mapping });
    expect(m).toMatchObject({ spreadsheetCount: 2, databaseCount: 2, missing: ['M3'], extra: ['M1'] });
    expect(m.missingRows.get('M3')).toBe(3);
  });

  it('logError writes an entry; queryErrors and getErrorStats read the log', async () => {
    const r = await sync(db.pool, { source: sheet([row('E1', BAD_DATE), row('E2')]), mapping });
    await logError(db.pool, {
      buyerNumber: 'E9',
      rowNumber: null,
      errorMessage: 'the caller could not enrich this buyer',
      errorType: 'constraint_violation',
    });
    await logError(db.url, {
      buyerNumber: 'E8',
      rowNumber: 4,
      errorMessage: 'timeout',
      errorType: 'transient',
      columnName: 'email',
    });

    const all = await queryErrors(db.pool);
    expect(all.total).toBe(3);
    const logged = all.errors.find((e) => e.buyerNumber === 'E9')!;
    expect(logged).toMatchObject({ errorType: 'constraint_violation', retryable: false, runId: null, rowNumber: null });
    expect(all.errors.find((e) => e.buyerNumber === 'E8')).toMatchObject({
      retryable: true,
      columnName: 'email',
      rowNumber: 4,
    });

    const ofRun = await queryErrors(db.url, { runId: r.runId });
    expect(ofRun).toMatchObject({ total: 1, errors: [{ buyerNumber: 'E1', errorType: 'data_type', rowNumber: 2 }] });
    expect((await queryErrors(db.pool, { errorType: 'transient', limit: 1 })).errors.map((e) => e.buyerNumber)).toEqual(
      ['E8'],
    );
    expect((await queryErrors(db.pool, { startDate: new Date(Date.now() + 60_000) })).total).toBe(0);

    const stats = await getErrorStats(db.pool);
    expect(stats).toMatchObject({ total: 3, retryable: 2, buyers: 3 });
    expect(stats.byType).toMatchObject({
      data_type: 1,
      constraint_violation: 1,
      transient: 1,
      field_length: 0,
      unknown: 0,
    });
    expect((await getErrorStats(db.url, { end: new Date(Date.now() - 3_600_000) })).total).toBe(0);
  });

  it('report: counts and a line per failing row', async () => {
    await sync(db.pool, { source: sheet([row('P1'), row('P2', BAD_DATE)]), mapping });
    const r = await report(db.pool);
    expect(r.last_sync).toMatchObject({ mode: 'full', status: 'succeeded' });
    expect(r.counts).toMatchObject({ in_database: 1, failing: 1 });
    expect(r.lines).toContainEqual(
      expect.objectContaining({ kind: 'row', buyer_number: 'P2', row_number: 3, error_type: 'data_type' }),
    );
    expect((await report(db.url)).counts.in_database).toBe(1);
  });
});
