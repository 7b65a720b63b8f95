/**
 * The integrity checker against a real database: the design's Properties
 * 23-26 as fast-check properties (100 runs each) over hostile generated
 * sheets, and the findings an operator relies on: a tampered field, a deleted
 * buyer and an extra buyer are each found and named; an untouched sync shows
 * nothing; the sample is reproducible from its seed; every report is stored.
 */
import fc from 'fast-check';
import path from 'node:path';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { CannotRunError } from '../src/errors.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { IntegrityChecker, verifyIntegrity } from '../src/verify/checker.ts';
import { reportJson, reportMarkdown, type VerificationReport } from '../src/verify/report.ts';
import { cellsOf, expectedFates, keyPoolArb, sheetArb, type GeneratedRow } from './arbitraries.ts';
import { resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const db = useTestDatabase();
beforeEach(() => resetSyncState(db.pool));

const RUNS = { numRuns: 100 };
const COLUMNS = mapping.columns.map((c) => c.column);
const source = (rows: GeneratedRow[]) => new ArraySheetSource(HEADER, rows.map(cellsOf), 'generated');
const fullSync = (rows: GeneratedRow[]) => syncBuyers(db.pool, { mode: 'full', source: source(rows), mapping });
const verify = (rows: GeneratedRow[], sample: number | null, seed?: bigint) =>
  verifyIntegrity(db.pool, { source: source(rows), mapping, sample, ...(seed !== undefined ? { seed } : {}) });

function sheetKeys(rows: GeneratedRow[]): Map<string, number> {
  const keys = new Map<string, number>();
  rows.forEach((r, i) => {
    if (r.key.usable && r.key.key !== null && r.key.text.trim() !== '' && !keys.has(r.key.key))
      keys.set(r.key.key, i + 2);
  });
  return keys;
}
/** Each buyer number's synced values (the first valid row of it), by the generators' intent. */
function syncedValues(rows: GeneratedRow[]): Map<string, (string | null)[]> {
  const out = new Map<string, (string | null)[]>();
  for (const f of expectedFates(rows)) if (f.fate === 'synced') out.set(f.key, f.values);
  return out;
}
async function databaseKeys(): Promise<Set<string>> {
  return new Set((await db.pool.query<{ b: string }>('select buyer_number as b from buyers')).rows.map((r) => r.b));
}
/** A value as a report shows it. */
const shown = (v: string | null) =>
  v === null || v.length <= 1000 ? v : `${v.slice(0, 1000)}… (${v.length.toLocaleString('en-US')} characters)`;

/** Property 26: the report is stored as it was returned, with its findings. */
async function expectStored(r: VerificationReport) {
  const { rows } = await db.pool.query('select * from buyer_sync.verification_reports where id = $1', [r.id]);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    passed: r.passed,
    complete: r.completeness.complete,
    accurate: r.accuracy.accurate,
    summary: r.summary,
    sample_size: r.accuracy.sampleSize,
    missing_count: r.completeness.missingCount,
    extra_count: r.completeness.extraCount,
    mismatch_count: r.accuracy.mismatchCount,
    unverifiable_count: r.accuracy.unverifiableCount,
    seed: r.accuracy.seed.toString(),
  });
  expect(r.passed).toBe(r.completeness.complete && r.accuracy.accurate);
  expect(r.summary.startsWith(r.passed ? 'passed: ' : 'failed: ')).toBe(true);
  const { rows: findings } = await db.pool.query<{ finding: string; buyer_number: string }>(
    'select finding, buyer_number from buyer_sync.verification_findings where report_id = $1',
    [r.id],
  );
  expect(
    findings
      .filter((f) => f.finding === 'missing')
      .map((f) => f.buyer_number)
      .sort(),
  ).toEqual(r.completeness.missing.map((m) => m.buyerNumber).sort());
  expect(
    findings
      .filter((f) => f.finding === 'extra')
      .map((f) => f.buyer_number)
      .sort(),
  ).toEqual([...r.completeness.extra].sort());
  const { rows: mismatches } = await db.pool.query(
    'select count(*)::int as n from buyer_sync.verification_mismatches where report_id = $1',
    [r.id],
  );
  expect(mismatches[0].n).toBe(r.accuracy.mismatches.length);
  // The JSON of contract.md.
  const json = reportJson(r);
  expect(Object.keys(json)).toEqual(
    expect.arrayContaining(['timestamp', 'passed', 'summary', 'completeness', 'accuracy']),
  );
  expect(Object.keys(json.completeness)).toEqual(
    expect.arrayContaining(['complete', 'missing_count', 'missing_buyer_numbers']),
  );
  expect(Object.keys(json.accuracy)).toEqual(
    expect.arrayContaining(['accurate', 'sample_size', 'mismatch_count', 'mismatches']),
  );
}

describe('Property 23: completeness', () => {
  it('after any sync and any drift, verify names exactly the sheet buyers missing from the database (with their first row) and the extra ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        keyPoolArb(30).chain((pool) =>
          fc.tuple(
            sheetArb({ pool, maxRows: 35 }),
            fc.array(fc.boolean(), { minLength: 35, maxLength: 35 }),
            fc.integer({ min: 0, max: 4 }),
          ),
        ),
        async ([rows, dropMask, extras]) => {
          await resetSyncState(db.pool);
          await fullSync(rows);
          const synced = [...(await databaseKeys())];
          const dropped = synced.filter((_, i) => dropMask[i]);
          if (dropped.length > 0)
            await db.pool.query('delete from buyers where buyer_number = any($1::text[])', [dropped]);
          if (extras > 0)
            await db.pool.query(`insert into buyers (buyer_number) select '余分 ' || i from generate_series(1, $1) i`, [
              extras,
            ]);

          const r = await verify(rows, 0);
          const onSheet = sheetKeys(rows);
          const inDb = await databaseKeys();
          const missing = [...onSheet]
            .filter(([k]) => !inDb.has(k))
            .map(([k, row]) => ({ buyerNumber: k, rowNumber: row }));
          expect([...r.completeness.missing].sort((a, b) => a.rowNumber - b.rowNumber)).toEqual(
            missing.sort((a, b) => a.rowNumber - b.rowNumber),
          );
          expect(new Set(r.completeness.extra)).toEqual(new Set([...inDb].filter((k) => !onSheet.has(k))));
          expect(r.completeness.complete).toBe(missing.length === 0);
          expect(r.completeness.spreadsheetCount).toBe(onSheet.size);
          expect(r.completeness.databaseCount).toBe(inDb.size);
          // The read refreshed the snapshot: the missing-buyer view agrees.
          const { rows: view } = await db.pool.query<{ buyer_number: string }>(
            'select buyer_number from buyer_sync.missing_buyers',
          );
          expect(new Set(view.map((v) => v.buyer_number))).toEqual(new Set(missing.map((m) => m.buyerNumber)));
          await expectStored(r);
        },
      ),
      RUNS,
    );
  });
});

describe('Property 24: accuracy', () => {
  it('after syncing any sheet over any earlier one, a full comparison finds no difference (no false mismatch); rows that break a rule are counted as unverifiable, never as differences', async () => {
    await fc.assert(
      fc.asyncProperty(
        keyPoolArb(25).chain((pool) =>
          fc.tuple(sheetArb({ pool, maxRows: 25 }), sheetArb({ pool, maxRows: 25 }), fc.integer({ min: 0, max: 40 })),
        ),
        async ([before, after, sample]) => {
          await resetSyncState(db.pool);
          await fullSync(before);
          await fullSync(after);
          const all = await verify(after, null);
          expect(all.accuracy.mismatches).toEqual([]);
          expect(all.accuracy.accurate).toBe(true);
          const values = syncedValues(after);
          const inDb = await databaseKeys();
          expect(all.accuracy.sampleSize).toBe(values.size);
          const unverifiable = [...sheetKeys(after).keys()].filter((k) => inDb.has(k) && !values.has(k));
          expect(new Set(all.accuracy.unverifiable.map((u) => u.buyerNumber))).toEqual(new Set(unverifiable));
          await expectStored(all);
          // Any sample: at most N buyers, all of them without a difference.
          const some = await verify(after, sample);
          expect(some.accuracy.sampleSize).toBe(Math.min(sample, values.size));
          expect(some.accuracy.mismatchCount).toBe(0);
        },
      ),
      RUNS,
    );
  });
});

describe('Property 25: mismatch detail', () => {
  it('a field changed behind the sync is found and named: buyer number, column, the sheet’s value (as the row rules read it) and the database’s', async () => {
    await fc.assert(
      fc.asyncProperty(
        sheetArb({ maxRows: 20 }),
        fc.nat(),
        fc.integer({ min: 1, max: COLUMNS.length - 1 }),
        async (rows, pick, col) => {
          await resetSyncState(db.pool);
          await fullSync(rows);
          const values = syncedValues(rows);
          fc.pre(values.size > 0);
          const key = [...values.keys()][pick % values.size]!;
          const column = COLUMNS[col]!;
          const type = mapping.columns[col]!.type;
          const tampered = type === 'date' ? '1999-12-31' : type === 'bigint' ? '-4242' : 'tampered ✎ 改ざん';
          // A value that differs from the sheet's (a null becomes the tampered value, a tampered-looking one something else).
          const sheetValue = values.get(key)![col] ?? null;
          const dbValue =
            sheetValue === tampered
              ? type === 'date'
                ? '1999-12-30'
                : type === 'bigint'
                  ? '-4243'
                  : 'tampered again'
              : tampered;
          await db.pool.query(`update buyers set ${pg.escapeIdentifier(column)} = $2 where buyer_number = $1`, [
            key,
            dbValue,
          ]);

          const r = await verify(rows, null);
          expect(r.accuracy.mismatches).toEqual([
            { buyerNumber: key, field: column, spreadsheetValue: shown(sheetValue), databaseValue: dbValue },
          ]);
          expect(r.accuracy).toMatchObject({ accurate: false, mismatchCount: 1, mismatchedBuyers: 1 });
          expect(r.passed).toBe(false);
          await expectStored(r);
          const { rows: stored } = await db.pool.query(
            'select buyer_number, field, spreadsheet_value, database_value from buyer_sync.verification_mismatches where report_id = $1',
            [r.id],
          );
          expect(stored).toEqual([
            { buyer_number: key, field: column, spreadsheet_value: shown(sheetValue), database_value: dbValue },
          ]);
          // A deleted value (null in the database) is a difference too.
          if (sheetValue !== null) {
            await db.pool.query(`update buyers set ${pg.escapeIdentifier(column)} = null where buyer_number = $1`, [
              key,
            ]);
            const cleared = await verify(rows, null);
            expect(cleared.accuracy.mismatches).toEqual([
              { buyerNumber: key, field: column, spreadsheetValue: shown(sheetValue), databaseValue: null },
            ]);
          }
        },
      ),
      // A run is a sync and two verifications; 50 runs tamper each of the 13 columns about four times, over
      // hostile sheets of up to 20 rows.
      { numRuns: 50 },
    );
  });
});

describe('Property 26 and what operators rely on', () => {
  const row = (key: string, over: Record<number, string> = {}) =>
    HEADER.map((_, i) =>
      (i === 0 ? key : (over[i] ?? `${HEADER[i]} of ${key}`))
        .replace(/^(Inquiry Date|Next Follow-up) of .*/, '2024-03-15')
        .replace(/^Budget of .*/, '¥35,000,000'),
    );
  const sheet = (rows: string[][]) => new ArraySheetSource(HEADER, rows, 'sheet');

  it('an untouched sync: nothing found; a tampered field, a deleted buyer and an extra buyer: each found and named', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(String(i + 1).padStart(6, '0')));
    await syncBuyers(db.pool, { mode: 'full', source: sheet(rows), mapping });
    const clean = await verifyIntegrity(db.pool, { source: sheet(rows), mapping, sample: null });
    expect(clean).toMatchObject({
      passed: true,
      summary: 'passed: all 50 sheet buyers are in the database; 50 sampled buyers match the sheet in every column',
    });

    await db.pool.query(`update buyers set phone = '000-0000-0000' where buyer_number = '000007'`);
    await db.pool.query(`delete from buyers where buyer_number = '000012'`);
    await db.pool.query(`insert into buyers (buyer_number, name) values ('999999', 'someone')`);
    const r = await verifyIntegrity(db.pool, { source: sheet(rows), mapping, sample: null });
    expect(r.passed).toBe(false);
    expect(r.completeness).toMatchObject({
      complete: false,
      missingCount: 1,
      missing: [{ buyerNumber: '000012', rowNumber: 13 }],
      extraCount: 1,
      extra: ['999999'],
    });
    expect(r.accuracy.mismatches).toEqual([
      { buyerNumber: '000007', field: 'phone', spreadsheetValue: 'Phone of 000007', databaseValue: '000-0000-0000' },
    ]);
    expect(r.summary).toBe(
      'failed: 1 sheet buyer of 50 missing from the database (000012); 1 sampled buyer of 49 differs from the sheet (1 column: 000007); 1 buyer in the database no longer on the sheet (kept)',
    );
    const md = reportMarkdown(r);
    expect(md).toContain('# buyer-sync verification: FAILED');
    expect(md).toContain('| `000007` | phone | Phone of 000007 | 000-0000-0000 |');
    expect(md).toContain('Missing (sheet row): `000012` (13)');
    expect(md).toContain('No longer on the sheet (kept, never deleted): `999999`');
  });

  it('the sample is drawn by its seed: the same seed draws the same buyers, whatever the row order', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => row(`K${i}`));
    await syncBuyers(db.pool, { mode: 'full', source: sheet(rows), mapping });
    // Every buyer differs, so each sampled buyer shows up as a mismatch.
    await db.pool.query(`update buyers set status = 'changed'`);
    const sampled = async (r: VerificationReport) => new Set(r.accuracy.mismatches.map((m) => m.buyerNumber));
    const a = await verifyIntegrity(db.pool, { source: sheet(rows), mapping, sample: 20, seed: 42n });
    const b = await verifyIntegrity(db.pool, { source: sheet([...rows].reverse()), mapping, sample: 20, seed: 42n });
    const c = await verifyIntegrity(db.pool, { source: sheet(rows), mapping, sample: 20, seed: 43n });
    expect((await sampled(a)).size).toBe(20);
    expect(await sampled(b)).toEqual(await sampled(a));
    expect(await sampled(c)).not.toEqual(await sampled(a));
    expect(a.accuracy.seed).toBe(42n);
    const checker = new IntegrityChecker(db.pool, { source: sheet(rows), mapping });
    expect((await checker.verifySampleData(500)).sampleSize).toBe(200); // N at or above the count means all
    expect(await checker.verifyCompleteness()).toMatchObject({ complete: true, missingCount: 0 });
  });

  it('a long value is shown cut, with its length; the comparison is on the whole value', async () => {
    const long = 'あ'.repeat(5000);
    await syncBuyers(db.pool, { mode: 'full', source: sheet([row('L1', { 13: long })]), mapping });
    await db.pool.query(`update buyers set notes = notes || 'x' where buyer_number = 'L1'`);
    const r = await verifyIntegrity(db.pool, { source: sheet([row('L1', { 13: long })]), mapping, sample: null });
    expect(r.accuracy.mismatches).toEqual([
      {
        buyerNumber: 'L1',
        field: 'notes',
        spreadsheetValue: `${'あ'.repeat(1000)}… (5,000 characters)`,
        databaseValue: `${'あ'.repeat(1000)}… (5,001 characters)`,
      },
    ]);
  });

  it('after a scheduled sync, a difference raises verification_failed (no values in it); a clean verification resolves it', async () => {
    const rows = [row('V1'), row('V2')];
    const run = await syncBuyers(db.pool, { mode: 'full', source: sheet(rows), mapping });
    await db.pool.query(`update buyers set name = '秘密の改ざん' where buyer_number = 'V2'`);
    const bad = await verifyIntegrity(db.pool, {
      source: sheet(rows),
      mapping,
      sample: null,
      trigger: 'after_sync',
      runId: run.runId,
    });
    expect(bad.passed).toBe(false);
    const { rows: alerts } = await db.pool.query(
      `select type, severity, message, details from sync_alerts where type = 'verification_failed'`,
    );
    expect(alerts).toEqual([
      {
        type: 'verification_failed',
        severity: 'critical',
        message: expect.stringContaining('1 of 2 sampled buyer(s) differ from the sheet rows the sync had just read'),
        details: { report_id: bad.id, run_id: run.runId, mismatch_count: 1, mismatched_buyers: 1, sample_size: 2 },
      },
    ]);
    expect(JSON.stringify(alerts)).not.toContain('秘密');
    // A verification run by hand (the sheet as it is now) never raises it: edits since the sync are not the database's fault.
    await verifyIntegrity(db.pool, { source: sheet(rows), mapping, sample: null });
    expect((await db.pool.query(`select count(*)::int as n from sync_alerts`)).rows[0].n).toBe(1);
    await db.pool.query(`update buyers set name = 'Name of V2' where buyer_number = 'V2'`);
    await verifyIntegrity(db.pool, {
      source: sheet(rows),
      mapping,
      sample: null,
      trigger: 'after_sync',
      runId: run.runId,
    });
    const { rows: after } = await db.pool.query(
      `select severity, resolves is not null as notice, resolved_at is not null as resolved from sync_alerts order by created_at`,
    );
    expect(after).toEqual([
      { severity: 'critical', notice: false, resolved: true },
      { severity: 'info', notice: true, resolved: false },
    ]);
  });

  it('an open verification_failed alert keeps the health unhealthy, and its buyers are compared again by every after-sync verification until they match', async () => {
    const { evaluateHealth } = await import('../src/monitor/health.ts');
    const rows = Array.from({ length: 30 }, (_, i) => row(`F${i}`));
    const run = await syncBuyers(db.pool, { mode: 'full', source: sheet(rows), mapping });
    await db.pool.query(`update buyers set assignee = 'someone else' where buyer_number = 'F17'`);
    const bad = await verifyIntegrity(db.pool, {
      source: sheet(rows),
      mapping,
      sample: null,
      trigger: 'after_sync',
      runId: run.runId,
    });
    expect(bad.accuracy.mismatchCount).toBe(1);
    const h = await evaluateHealth(db.pool);
    expect(h.healthy).toBe(false);
    expect(h.issues).toEqual([
      expect.stringContaining('1 of 30 sampled buyer(s) differ from the sheet rows the sync had just read'),
    ]);
    // A sample of none still compares F17: the alert cannot resolve by not looking.
    const again = await verifyIntegrity(db.pool, {
      source: sheet(rows),
      mapping,
      sample: 0,
      trigger: 'after_sync',
      runId: run.runId,
    });
    expect(again.accuracy).toMatchObject({ sampleSize: 1, mismatchCount: 1 });
    expect(
      (await db.pool.query(`select count(*)::int as n from sync_alerts where resolved_at is null and resolves is null`))
        .rows[0].n,
    ).toBe(1);
    await db.pool.query(`update buyers set assignee = 'Assignee of F17' where buyer_number = 'F17'`);
    const fixed = await verifyIntegrity(db.pool, {
      source: sheet(rows),
      mapping,
      sample: 0,
      trigger: 'after_sync',
      runId: run.runId,
    });
    expect(fixed.accuracy).toMatchObject({ sampleSize: 1, mismatchCount: 0 });
    expect((await evaluateHealth(db.pool)).healthy).toBe(true);
  });

  it('a row the database refused in the sync is unverifiable, not a difference (and raises nothing after the sync)', async () => {
    await syncBuyers(db.pool, { mode: 'full', source: sheet([row('C1'), row('C2')]), mapping });
    await db.pool.query(`alter table buyers add constraint no_vip check (status is distinct from 'VIP')`);
    try {
      const edited = [row('C1', { 10: 'VIP' }), row('C2', { 10: 'open' })];
      const run = await syncBuyers(db.pool, { mode: 'full', source: sheet(edited), mapping });
      expect(run).toMatchObject({ failed: 1, updated: 1 });
      const after = await verifyIntegrity(db.pool, {
        source: sheet(edited),
        mapping,
        sample: null,
        trigger: 'after_sync',
        runId: run.runId,
      });
      expect(after.accuracy).toMatchObject({
        mismatchCount: 0,
        unverifiableCount: 1,
        unverifiable: [{ buyerNumber: 'C1', rowNumber: 2 }],
        sampleSize: 1,
      });
      const byHand = await verifyIntegrity(db.pool, { source: sheet(edited), mapping, sample: null });
      expect(byHand.accuracy).toMatchObject({ mismatchCount: 0, unverifiableCount: 1 });
      expect(
        (await db.pool.query(`select count(*)::int as n from sync_alerts where type = 'verification_failed'`)).rows[0]
          .n,
      ).toBe(0);
    } finally {
      await db.pool.query(`alter table buyers drop constraint no_vip`);
    }
  });

  it('a verification never runs beside a sync: while one holds the lock it refuses, saying so', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock(7340001)');
      await expect(verifyIntegrity(db.pool, { source: sheet([row('X')]), mapping, sample: null })).rejects.toThrow(
        new CannotRunError(
          'a sync run is in progress; verify when it has finished (a verification compares a database no sync is writing)',
        ),
      );
    } finally {
      await holder.end();
    }
    expect((await db.pool.query('select count(*)::int as n from buyer_sync.verification_reports')).rows[0].n).toBe(0);
  });
});
