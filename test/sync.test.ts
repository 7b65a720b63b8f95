/**
 * The sync engine against a real database: the accountability invariant over
 * hostile sheets, and the design's Properties 2-8 and 17-22, each as a
 * fast-check property of 100 runs (the snapshot's sequences of edits, each
 * run several reads: 60).
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import { ERROR_TYPES } from '../src/sync/error-types.ts';
import { SyncErrorLogger } from '../src/sync/error-logger.ts';
import { checkHealth } from '../src/monitor/health.ts';
import { compareSheetAndDatabase } from '../src/sync/missing.ts';
import { replaceSheetSnapshot } from '../src/sync/sql/snapshot.ts';
import { sync as fullSync, syncBuyerNumbers, type SyncResult } from '../src/index.ts';
import { cellsOf, expectedFates, KEY_POOL, sheetArb, type GeneratedRow } from './arbitraries.ts';
import { readBuyers, resetSyncState, useTestDatabase, waitUntilBlockedBy } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const db = useTestDatabase();
beforeEach(() => resetSyncState(db.pool));

const RUNS = { numRuns: 100 };
const source = (rows: GeneratedRow[]) => new ArraySheetSource(HEADER, rows.map(cellsOf), 'generated');
const sync = (rows: GeneratedRow[], extra: { batchSize?: number; onBatch?: (n: number) => void } = {}) =>
  fullSync(db.pool, { source: source(rows), mapping, ...extra });

async function errorsOf(runId: string) {
  const { rows } = await db.pool.query<{
    row_number: number | null;
    buyer_number: string | null;
    error_type: string;
    error_message: string;
    retryable: boolean;
    created_at: Date;
  }>(
    `select row_number, buyer_number, error_type, error_message, retryable, created_at from sync_error_log where run_id = $1`,
    [runId],
  );
  return rows;
}

function checkCounts(r: SyncResult, rows: GeneratedRow[]) {
  expect(r.totalRows).toBe(rows.length);
  expect(r.inserted + r.updated + r.unchanged + r.failed + r.blankRows).toBe(r.totalRows);
}

describe('accountability: nothing is lost, nothing silently', () => {
  it('every non-blank row ends in buyers with exactly its values, or in sync_error_log with its row number and type; re-running changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 30 }), fc.integer({ min: 1, max: 12 }), async (rows, batchSize) => {
        await resetSyncState(db.pool);
        const fates = expectedFates(rows);
        const first = await sync(rows, { batchSize });
        checkCounts(first, rows);

        const buyers = await readBuyers(db.pool);
        const errors = await errorsOf(first.runId);
        const errorsByRow = new Map(errors.map((e) => [e.row_number, e]));
        const synced = fates.filter((f) => f.fate === 'synced');
        expect(buyers.size).toBe(synced.length);
        fates.forEach((f, i) => {
          const rowNumber = i + 2;
          if (f.fate === 'blank') {
            expect(errorsByRow.has(rowNumber)).toBe(false);
          } else if (f.fate === 'synced') {
            expect(buyers.get(f.key)).toEqual(f.values);
            expect(errorsByRow.has(rowNumber)).toBe(false);
          } else {
            const e = errorsByRow.get(rowNumber);
            expect(e, `row ${rowNumber} must be in the error log`).toBeDefined();
            expect(e!.error_type).toBe(f.type);
            expect(e!.buyer_number).toBe(f.buyerNumber);
          }
        });
        expect(errors).toHaveLength(fates.filter((f) => f.fate === 'failed').length);
        expect(first.failed).toBe(errors.length);
        expect(first.blankRows).toBe(fates.filter((f) => f.fate === 'blank').length);
        expect(first.inserted).toBe(synced.length);

        // A second run over the same sheet writes nothing to buyers.
        const before = await db.pool.query(`select buyer_number, xmin::text from buyers order by 1`);
        const second = await sync(rows, { batchSize });
        expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: synced.length, failed: first.failed });
        const after = await db.pool.query(`select buyer_number, xmin::text from buyers order by 1`);
        expect(after.rows).toEqual(before.rows);
      }),
      RUNS,
    );
  });
});

describe('missing buyers', () => {
  const keys = fc.uniqueArray(fc.constantFrom(...Array.from({ length: 40 }, (_, i) => String(i).padStart(4, '0'))), {
    maxLength: 40,
  });

  it('Property 2: identifies exactly the buyer numbers on the sheet and not in the database (and the reverse)', async () => {
    await fc.assert(
      fc.asyncProperty(keys, keys, async (sheetKeys, dbKeys) => {
        await resetSyncState(db.pool);
        await db.pool.query(`insert into buyers (buyer_number) select unnest($1::text[])`, [dbKeys]);
        const sheet = new ArraySheetSource(
          HEADER,
          sheetKeys.map((k) => [k, 'x']),
        );
        const report = await compareSheetAndDatabase(db.pool, sheet, mapping);
        expect(new Set(report.missing)).toEqual(new Set(sheetKeys.filter((k) => !dbKeys.includes(k))));
        expect(new Set(report.extra)).toEqual(new Set(dbKeys.filter((k) => !sheetKeys.includes(k))));
        expect(report.spreadsheetCount).toBe(sheetKeys.length);
        expect(report.databaseCount).toBe(dbKeys.length);
      }),
      RUNS,
    );
  });

  it('Property 3: after syncMissingBuyers, every missing buyer exists; nothing else is touched or deleted', async () => {
    await fc.assert(
      fc.asyncProperty(keys, keys, async (sheetKeys, dbKeys) => {
        await resetSyncState(db.pool);
        await db.pool.query(`insert into buyers (buyer_number, name) select k, 'db' from unnest($1::text[]) k`, [
          dbKeys,
        ]);
        const sheet = new ArraySheetSource(
          HEADER,
          sheetKeys.map((k) => [k, 'sheet']),
        );
        const { missing } = await compareSheetAndDatabase(db.pool, sheet, mapping);
        if (missing.length > 0) {
          const r = await syncBuyerNumbers(db.pool, missing, { source: sheet, mapping });
          expect(r).toMatchObject({ inserted: missing.length, failed: 0, totalRows: missing.length });
        }
        const after = await compareSheetAndDatabase(db.pool, sheet, mapping);
        expect(after.missing).toEqual([]);
        const { rows } = await db.pool.query<{ buyer_number: string; name: string }>(
          `select buyer_number, name from buyers`,
        );
        const names = new Map(rows.map((r) => [r.buyer_number, r.name]));
        for (const k of dbKeys) expect(names.get(k)).toBe('db'); // not on the list: untouched, never deleted
        for (const k of missing) expect(names.get(k)).toBe('sheet');
      }),
      RUNS,
    );
  });
});

describe('the sheet snapshot', () => {
  const KEYS = Array.from({ length: 12 }, (_, i) => `S${i}`);
  const line = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.constant('') });
  type Step =
    | { kind: 'append'; lines: string[] }
    | { kind: 'delete' | 'rename'; at: number; key: string }
    | { kind: 'swap'; at: number; with: number }
    | { kind: 'same' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.array(line, { minLength: 1, maxLength: 5 }).map((lines) => ({ kind: 'append' as const, lines })),
    },
    fc.record({
      kind: fc.constantFrom('delete' as const, 'rename' as const),
      at: fc.nat(),
      key: fc.constantFrom(...KEYS),
    }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
    fc.constant({ kind: 'same' as const }),
  );
  const relfilenode = async () =>
    (
      await db.pool.query<{ n: string }>(
        `select relfilenode::text as n from pg_class where oid = 'buyer_sync_private.sheet_buyers'::regclass`,
      )
    ).rows[0]!.n;

  const writer = fc.constantFrom('sync', 'missing', 'health');

  it('after every full read (sync, missing, health) it holds exactly the first row of each buyer number; a sheet that only grew appends instead of rewriting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 12 }),
        fc.array(fc.tuple(step, writer), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        async (start, steps, batchSize) => {
          await resetSyncState(db.pool);
          let lines = start;
          for (const [i, [st, by]] of [[{ kind: 'same' }, 'sync'] as [Step, string], ...steps].entries()) {
            const next = [...lines];
            if (st.kind === 'append') next.push(...st.lines);
            else if (st.kind === 'delete' && next.length > 0) next.splice(st.at % next.length, 1);
            else if (st.kind === 'rename' && next.length > 0) next[st.at % next.length] = st.key;
            else if (st.kind === 'swap' && next.length > 0) {
              const a = st.at % next.length,
                b = st.with % next.length;
              [next[a], next[b]] = [next[b]!, next[a]!];
            }
            const firstRows = new Map<string, number>();
            next.forEach((k, at) => k !== '' && !firstRows.has(k) && firstRows.set(k, at + 2));
            const before = await relfilenode();
            const stored =
              (await db.pool.query<{ row_count: number }>(`select row_count from buyer_sync_private.sheet_snapshot`))
                .rows[0]?.row_count ?? 0;
            const sheet = new ArraySheetSource(
              HEADER,
              next.map((k) => [k, 'x']),
            );
            // Small batches: the stored snapshot's length falls anywhere, in a batch or at its end.
            if (by === 'sync') await fullSync(db.pool, { source: sheet, mapping, batchSize });
            else if (by === 'missing') await compareSheetAndDatabase(db.pool, sheet, mapping);
            else await checkHealth(db.pool, { source: sheet, mapping });
            const { rows } = await db.pool.query<{ buyer_number: string; row_number: number }>(
              `select buyer_number, row_number from buyer_sync_private.sheet_buyers order by row_number`,
            );
            expect(rows).toEqual([...firstRows].map(([buyer_number, row_number]) => ({ buyer_number, row_number })));
            expect((await db.pool.query(`select row_count from buyer_sync_private.sheet_snapshot`)).rows).toEqual([
              { row_count: firstRows.size },
            ]);
            if (i > 0 && st.kind === 'append' && stored > 0)
              expect(await relfilenode(), 'appended, not rewritten').toBe(before);
            lines = next;
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 180_000);

  it('two writers at once: `missing` waits for a sync writing the snapshot, then writes its own read whole, never appending to rows it did not see', async () => {
    const read = (keys: [string, number][]) => ({
      source: 'test',
      keys,
      count: keys.length,
      keysHash: createHash('md5')
        .update(keys.map(([k, r]) => `${k}\u0000${r}\n`).join(''))
        .digest('hex'),
      runId: null,
    });
    await fullSync(db.pool, {
      source: new ArraySheetSource(HEADER, [
        ['S0', 'x'],
        ['S1', 'x'],
      ]),
      mapping,
    });
    const other = await db.pool.connect();
    try {
      const { rows: me } = await other.query<{ pid: number }>('select pg_backend_pid() as pid');
      // A sync (say) replaces the snapshot with a sheet of one buyer, and has not committed yet.
      await other.query('begin');
      await replaceSheetSnapshot(other, read([['S5', 2]]));
      // `missing` reads a sheet that only grew from the committed snapshot: alone, it would append S2.
      const grown = compareSheetAndDatabase(
        db.pool,
        new ArraySheetSource(HEADER, [
          ['S0', 'x'],
          ['S1', 'x'],
          ['S2', 'x'],
        ]),
        mapping,
      );
      // It waits for the uncommitted writer's lock.
      await waitUntilBlockedBy(db.pool, me[0]!.pid);
      await other.query('commit');
      await grown;
    } finally {
      other.release();
    }
    const { rows } = await db.pool.query(
      `select buyer_number, row_number from buyer_sync_private.sheet_buyers order by row_number`,
    );
    expect(rows).toEqual([
      { buyer_number: 'S0', row_number: 2 },
      { buyer_number: 'S1', row_number: 3 },
      { buyer_number: 'S2', row_number: 4 },
    ]);
    expect((await db.pool.query(`select row_count from buyer_sync_private.sheet_snapshot`)).rows).toEqual([
      { row_count: 3 },
    ]);
  });
});

describe('logging', () => {
  it('Property 4: every inserted or updated buyer is traceable to its run with a timestamp; unchanged ones get no log row', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 15 }), sheetArb({ maxRows: 15 }), async (a, b) => {
        await resetSyncState(db.pool);
        const r1 = await sync(a);
        const before = await readBuyers(db.pool);
        const r = await sync(b);
        const after = await readBuyers(db.pool);
        const { rows } = await db.pool.query<{
          buyer_number: string;
          action: string;
          changed_columns: string[];
          changed_at: Date;
        }>(`select buyer_number, action, changed_columns, changed_at from sync_buyer_changes where run_id = $1`, [
          r.runId,
        ]);
        const updated = [...after].filter(
          ([k, v]) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(v),
        );
        expect(rows.map((x) => x.buyer_number).sort()).toEqual(updated.map(([k]) => k).sort());
        const cols = mapping.columns.map((c) => c.column);
        for (const x of rows) {
          expect(x.action).toBe('update');
          expect(x.changed_at).toBeInstanceOf(Date);
          const old = before.get(x.buyer_number)!;
          const now = after.get(x.buyer_number)!;
          expect(x.changed_columns.sort()).toEqual(cols.filter((_, i) => old[i] !== now[i]).sort());
        }
        expect(rows.length).toBe(r.updated);
        // Inserts are traced through the run that inserted them, and every buyer through the run that last wrote it.
        const { rows: provenance } = await db.pool.query<{
          buyer_number: string;
          inserted_by_run: string;
          last_written_by_run: string;
        }>(`select buyer_number, inserted_by_run, last_written_by_run from buyer_sync.buyer_provenance`);
        for (const p of provenance) {
          expect(p.inserted_by_run).toBe(before.has(p.buyer_number) ? r1.runId : r.runId);
          const written = !before.has(p.buyer_number) || updated.some(([k]) => k === p.buyer_number);
          expect(p.last_written_by_run).toBe(written ? r.runId : r1.runId);
        }
      }),
      RUNS,
    );
  });

  it('Properties 5-7: every failed row has one complete, categorized error entry', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 25 }), async (rows) => {
        await resetSyncState(db.pool);
        const r = await sync(rows);
        const errors = await errorsOf(r.runId);
        const failedRows = expectedFates(rows).flatMap((f, i) => (f.fate === 'failed' ? [i + 2] : []));
        expect(errors.map((e) => e.row_number).sort((x, y) => x! - y!)).toEqual(failedRows); // 5
        for (const e of errors) {
          expect(e.row_number).toBeGreaterThanOrEqual(2); // 6
          expect(e.error_message).toMatch(new RegExp(`^row ${e.row_number}: `));
          expect(e.created_at).toBeInstanceOf(Date);
          expect(ERROR_TYPES).toContain(e.error_type); // 7
          // retryable means queued: a retryable type, and a buyer number to queue.
          expect(e.retryable).toBe(e.error_type !== 'constraint_violation' && e.buyer_number !== null);
        }
        const byType = Object.fromEntries(ERROR_TYPES.map((t) => [t, errors.filter((e) => e.error_type === t).length]));
        expect(r.errorsByType).toEqual(byType);
      }),
      RUNS,
    );
  });

  it('Property 8: queryErrors returns exactly the entries matching every filter', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const entry = fc.record({
      buyer: fc.option(fc.constantFrom('A', 'B', 'C'), { nil: null }),
      type: fc.constantFrom(...ERROR_TYPES),
      minute: fc.integer({ min: 0, max: 100 }),
    });
    const filter = fc.record(
      {
        errorType: fc.constantFrom(...ERROR_TYPES),
        buyerNumber: fc.constantFrom('A', 'B', 'C', 'D'),
        startDate: fc.integer({ min: 0, max: 100 }).map((m) => new Date(t0 + m * 60_000)),
        endDate: fc.integer({ min: 0, max: 100 }).map((m) => new Date(t0 + m * 60_000)),
      },
      { requiredKeys: [] },
    );
    const logger = new SyncErrorLogger(db.pool);
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 30 }), filter, async (entries, f) => {
        await db.pool.query('truncate sync_error_log');
        await db.pool.query(
          `insert into sync_error_log (buyer_number, row_number, error_message, error_type, created_at)
           select b, r, 'm', t, c from unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[]) as x(b, r, t, c)`,
          [
            entries.map((e) => e.buyer),
            entries.map((_, i) => i + 2),
            entries.map((e) => e.type),
            entries.map((e) => new Date(t0 + e.minute * 60_000)),
          ],
        );
        const got = await logger.queryErrors(f);
        const want = entries
          .map((e, i) => ({ ...e, row: i + 2, at: t0 + e.minute * 60_000 }))
          .filter(
            (e) =>
              (f.errorType === undefined || e.type === f.errorType) &&
              (f.buyerNumber === undefined || e.buyer === f.buyerNumber),
          )
          .filter(
            (e) =>
              (f.startDate === undefined || e.at >= f.startDate.getTime()) &&
              (f.endDate === undefined || e.at < f.endDate.getTime()),
          );
        expect(got.map((e) => e.rowNumber).sort()).toEqual(want.map((e) => e.row).sort());
        for (const e of got) {
          if (f.errorType) expect(e.errorType).toBe(f.errorType);
          if (f.buyerNumber) expect(e.buyerNumber).toBe(f.buyerNumber);
        }
      }),
      RUNS,
    );
  });
});

describe('retry queue', () => {
  it('retryable failures with a buyer number are queued once (pending, due in a minute); constraint violations never', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 20 }), async (rows) => {
        await resetSyncState(db.pool);
        const started = Date.now();
        const r = await sync(rows);
        const { rows: queue } = await db.pool.query<{
          buyer_number: string;
          status: string;
          attempt_count: number;
          next_retry_at: Date;
          error_info: { error_type: string; source: string };
        }>(`select buyer_number, status, attempt_count, next_retry_at, error_info from retry_queue`);
        const fates = expectedFates(rows);
        const retryable = new Set(
          fates.flatMap((f) =>
            f.fate === 'failed' && f.type !== 'constraint_violation' && f.buyerNumber !== null ? [f.buyerNumber] : [],
          ),
        );
        const synced = new Set(fates.flatMap((f) => (f.fate === 'synced' ? [f.key] : [])));
        expect(new Set(queue.map((q) => q.buyer_number))).toEqual(retryable);
        for (const q of queue) {
          // A buyer whose failed row is followed by a row that syncs it needs no retry (that row is a duplicate): no entry.
          expect(synced.has(q.buyer_number)).toBe(false);
          expect(q).toMatchObject({ status: 'pending', attempt_count: 1 });
          expect(q.error_info.source).toBe('generated');
          expect(q.next_retry_at.getTime()).toBeGreaterThanOrEqual(started + 59_000);
          expect(q.next_retry_at.getTime()).toBeLessThanOrEqual(Date.now() + 61_000);
        }
        expect(r.retryQueueSize).toBe(queue.filter((q) => q.status === 'pending').length);
      }),
      RUNS,
    );
  });

  it('a buyer that syncs in a later run closes its open retry entry', async () => {
    const bad = [
      {
        key: { text: '0042', key: '0042', usable: true },
        cells: HEADER.slice(1).map((_, i) => ({ text: i === 8 ? '#REF!' : '', expect: { ok: null } })),
        ragged: false,
      },
    ] as GeneratedRow[];
    await sync(bad);
    expect((await db.pool.query(`select status from retry_queue`)).rows).toEqual([{ status: 'pending' }]);
    bad[0]!.cells[8] = { text: '100', expect: { ok: '100' } };
    await sync(bad);
    expect((await db.pool.query(`select status from retry_queue`)).rows).toEqual([{ status: 'succeeded' }]);
  });
});

describe('upserts', () => {
  it('Properties 17-20: keyed on buyer_number, updates in place, created_at kept, synced_at and db_updated_at set', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 15 }), sheetArb({ maxRows: 15 }), async (a, b) => {
        await resetSyncState(db.pool);
        const t1 = await db.pool.query<{ now: Date }>('select clock_timestamp() as now');
        await sync(a);
        const first = await db.pool.query<{
          buyer_number: string;
          id: string;
          created_at: Date;
          synced_at: Date;
          db_updated_at: Date;
        }>(`select buyer_number, id, created_at, synced_at, db_updated_at from buyers`);
        for (const row of first.rows) {
          expect(row.synced_at.getTime()).toBeGreaterThanOrEqual(t1.rows[0]!.now.getTime() - 5);
          expect(row.db_updated_at.getTime()).toBe(row.synced_at.getTime());
        }
        const t2 = await db.pool.query<{ now: Date }>('select clock_timestamp() as now');
        const r = await sync(b);
        const second = await db.pool.query<{
          buyer_number: string;
          id: string;
          created_at: Date;
          synced_at: Date;
          db_updated_at: Date;
        }>(`select buyer_number, id, created_at, synced_at, db_updated_at from buyers`);
        // 17/18: one row per buyer number, the same row (id) as before.
        const keys = second.rows.map((x) => x.buyer_number);
        expect(new Set(keys).size).toBe(keys.length);
        const firstById = new Map(first.rows.map((x) => [x.buyer_number, x]));
        const { rows: changed } = await db.pool.query<{ buyer_number: string }>(
          `select buyer_number from sync_buyer_changes where run_id = $1`,
          [r.runId],
        );
        const changedSet = new Set(changed.map((c) => c.buyer_number));
        for (const row of second.rows) {
          const old = firstById.get(row.buyer_number);
          if (old) {
            expect(row.id).toBe(old.id);
            expect(row.created_at).toEqual(old.created_at); // 19
          }
          if (changedSet.has(row.buyer_number)) {
            // 20: written in this run, so stamped in this run.
            expect(row.synced_at.getTime()).toBeGreaterThanOrEqual(t2.rows[0]!.now.getTime() - 5);
            expect(row.db_updated_at).toEqual(row.synced_at);
          } else if (old) {
            expect(row.synced_at).toEqual(old.synced_at);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('batches and metrics', () => {
  it('Property 21: rows are processed in batches of exactly the batch size, the last one possibly smaller', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...KEY_POOL), { maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        async (keys, batchSize) => {
          await resetSyncState(db.pool);
          const sizes: number[] = [];
          const rows = keys.map(
            (k) => ({ key: { text: k, key: k, usable: true }, cells: [], ragged: true }) as GeneratedRow,
          );
          const r = await sync(rows, { batchSize, onBatch: (n) => sizes.push(n) });
          expect(sizes.reduce((a, n) => a + n, 0)).toBe(keys.length);
          expect(sizes.slice(0, -1).every((n) => n === batchSize)).toBe(true);
          if (sizes.length > 0) expect(sizes.at(-1)!).toBeLessThanOrEqual(batchSize);
          expect(sizes.length).toBe(Math.ceil(keys.length / batchSize));
          const { rows: run } = await db.pool.query(`select batches, batch_size from sync_runs where id = $1`, [
            r.runId,
          ]);
          expect(run[0]).toEqual({ batches: sizes.length, batch_size: batchSize });
        },
      ),
      RUNS,
    );
  });

  it("the default batch size is the design's 100", async () => {
    const sizes: number[] = [];
    const rows = Array.from(
      { length: 250 },
      (_, i) => ({ key: { text: String(i), key: String(i), usable: true }, cells: [], ragged: true }) as GeneratedRow,
    );
    await sync(rows, { onBatch: (n) => sizes.push(n) });
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('Property 22: every run records its duration and throughput with its counts', async () => {
    await fc.assert(
      fc.asyncProperty(sheetArb({ maxRows: 20 }), async (rows) => {
        await resetSyncState(db.pool);
        const r = await sync(rows);
        const { rows: run } = await db.pool.query(`select * from sync_runs where id = $1`, [r.runId]);
        const x = run[0];
        expect(x.status).toBe('succeeded');
        expect(x.duration_ms).toBeGreaterThanOrEqual(0);
        expect(x.duration_ms).toBe(r.durationMs);
        expect(Number(x.rows_per_second)).toBe(r.rowsPerSecond);
        expect(r.rowsPerSecond).toBeCloseTo(r.totalRows / (Math.max(r.durationMs, 1) / 1000), 1);
        expect(x.finished_at.getTime()).toBeGreaterThanOrEqual(x.started_at.getTime());
        expect({ total: x.total_rows, inserted: x.inserted, failed: x.failed, blank: x.blank_rows }).toEqual({
          total: r.totalRows,
          inserted: r.inserted,
          failed: r.failed,
          blank: r.blankRows,
        });
        expect(x.errors_by_type).toEqual(r.errorsByType);
      }),
      RUNS,
    );
  });
});
