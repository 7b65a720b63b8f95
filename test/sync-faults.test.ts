/**
 * Failures the sync must survive: a blocking schema, rows the database
 * rejects, a connection killed mid-run, a sheet that breaks off mid-read,
 * overlapping runs. And: no personal data in anything the sync logs.
 */
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { CannotRunError } from '../src/errors.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import type { SheetReader, SheetRow, SheetSource } from '../src/sheet/source.ts';
import { EnhancedBuyerSyncService, SyncAbortedError } from '../src/sync/service.ts';
import { createTestDatabase, resetSyncState, type TestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
let db: TestDatabase;
let service: EnhancedBuyerSyncService;
beforeAll(async () => {
  db = await createTestDatabase();
  service = new EnhancedBuyerSyncService(db.pool);
});
afterAll(() => db?.drop());
beforeEach(() => resetSyncState(db.pool));

const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const count = async (table: string) => Number((await db.pool.query(`select count(*) from ${table}`)).rows[0].count);

/** A source that runs `hook` after yielding `after` chunks of rows. */
class HookedSource implements SheetSource {
  readonly description = 'hooked';
  private readonly rows: string[][];
  private readonly after: number;
  private readonly hook: () => Promise<void>;
  constructor(rows: string[][], after: number, hook: () => Promise<void>) {
    this.rows = rows;
    this.after = after;
    this.hook = hook;
  }
  async open(): Promise<SheetReader> {
    const { rows: data, after, hook } = this;
    async function* rows(): AsyncGenerator<SheetRow[]> {
      for (let i = 0, n = 0; i < data.length; i += 100, n++) {
        if (n === after) await hook();
        yield data.slice(i, i + 100).map((cells, j) => ({ rowNumber: i + j + 2, cells }));
      }
    }
    return { header: HEADER, rows: rows(), close: async () => undefined };
  }
}

describe('the schema check blocks the sync', () => {
  it('refuses (exit 3) naming the table and column, and writes nothing', async () => {
    await db.pool.query(`alter table buyers add column referrer varchar(50)`);
    try {
      const err = await service
        .syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, [row('1', { 1: 'x' })]), mapping })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CannotRunError);
      expect((err as CannotRunError).exitCode).toBe(3);
      expect((err as Error).message).toContain('buyers.referrer is character varying(50)');
      expect(await count('buyers')).toBe(0);
      expect(await count('sync_runs')).toBe(0);
    } finally {
      await db.pool.query(`alter table buyers drop column referrer`);
    }
  });
});

describe('rows the database rejects fail alone', () => {
  it('a CHECK violation fails only its rows (constraint_violation, not queued); the rest of the batch is written', async () => {
    await db.pool.query(`alter table buyers add constraint budget_not_negative check (budget >= 0)`);
    try {
      const rows = Array.from({ length: 10 }, (_, i) => row(`B${i}`, { 1: `秘密の名前${i}`, 9: i % 4 === 1 ? `-${i}000` : `${i}000` }));
      const r = await service.syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, rows), mapping, batchSize: 10 });
      expect(r).toMatchObject({ inserted: 7, failed: 3, errorsByType: { constraint_violation: 3 } });
      const { rows: errors } = await db.pool.query(`select row_number, buyer_number, error_type, error_message, retryable from sync_error_log order by row_number`);
      expect(errors.map((e) => e.buyer_number)).toEqual(['B1', 'B5', 'B9']);
      for (const e of errors) {
        expect(e).toMatchObject({ error_type: 'constraint_violation', retryable: false });
        expect(e.error_message).toContain('constraint budget_not_negative');
        expect(e.error_message).not.toMatch(/秘密|-\d000/);
      }
      expect(await count('retry_queue')).toBe(0);
    } finally {
      await db.pool.query(`alter table buyers drop constraint budget_not_negative`);
    }
  });

  it('a 22001 from the database is field_length, retryable and queued; other unknown failures carry a stack without values', async () => {
    await db.pool.query(`
      create function pg_temp.reject() returns trigger language plpgsql as $$
      begin
        if length(new.notes) > 50 then raise exception 'value too long: %', new.notes using errcode = '22001'; end if;
        if new.name = 'boom' then raise exception 'trigger failed for %', new.name using errcode = 'P0001'; end if;
        return new;
      end $$;
      create trigger reject before insert or update on buyers for each row execute function pg_temp.reject();`);
    try {
      const rows = [row('A', { 13: '長'.repeat(60) }), row('B', { 13: 'short' }), row('C', { 1: 'boom' })];
      const r = await service.syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, rows), mapping });
      expect(r).toMatchObject({ inserted: 1, failed: 2, errorsByType: { field_length: 1, unknown: 1 } });
      const { rows: errors } = await db.pool.query(`select buyer_number, error_type, error_message, stack_trace, retryable from sync_error_log order by buyer_number`);
      expect(errors[0]).toMatchObject({ buyer_number: 'A', error_type: 'field_length', retryable: true });
      expect(errors[1]).toMatchObject({ buyer_number: 'C', error_type: 'unknown', retryable: true });
      expect(errors[1].stack_trace).toMatch(/^\w+: row 4: the database failed on the row \(P0001\)\n\s+at /);
      for (const e of errors) expect(`${e.error_message} ${e.stack_trace}`).not.toMatch(/長|boom/);
      const { rows: queue } = await db.pool.query(`select buyer_number from retry_queue order by 1`);
      expect(queue.map((q) => q.buyer_number)).toEqual(['A', 'C']);
    } finally {
      await db.pool.query(`drop trigger reject on buyers`);
    }
  });
});

describe('a run that cannot finish writes nothing', () => {
  const sheet = Array.from({ length: 1000 }, (_, i) => row(String(i).padStart(5, '0'), { 1: 'n' }));

  it('connection killed mid-run (pg_terminate_backend): a clear transient error, nothing half-written, the next run completes', async () => {
    const killer = new HookedSource(sheet, 4, async () => {
      await db.pool.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
            and xact_start is not null`,
      );
    });
    const err = await service.syncAllWithErrorHandling({ source: killer, mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    const aborted = err as SyncAbortedError;
    expect(aborted.exitCode).toBe(3);
    expect(aborted.errorType).toBe('transient');
    expect(aborted.message).toMatch(/^sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: the database connection was lost/);
    expect(await count('buyers')).toBe(0);
    expect(await count('sync_buyer_changes')).toBe(0);
    const { rows: runs } = await db.pool.query(`select status, error_type from sync_runs where id = $1`, [aborted.runId]);
    expect(runs).toEqual([{ status: 'failed', error_type: 'transient' }]);
    const { rows: logged } = await db.pool.query(`select error_type, row_number from sync_error_log where run_id = $1`, [aborted.runId]);
    expect(logged).toEqual([{ error_type: 'transient', row_number: null }]);

    const next = await service.syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, sheet), mapping });
    expect(next).toMatchObject({ inserted: 1000, failed: 0 });
  });

  it('a sheet that breaks off mid-read writes nothing', async () => {
    const broken = new HookedSource(sheet, 3, async () => {
      throw new CannotRunError('reading the sheet failed: connection reset');
    });
    const err = await service.syncAllWithErrorHandling({ source: broken, mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    expect((err as Error).message).toContain('reading the sheet failed: connection reset');
    expect(await count('buyers')).toBe(0);
    expect(await count('buyer_sync_private.sheet_buyers')).toBe(0);
  });

  it('a run whose process died (still marked running) is marked interrupted by the next run', async () => {
    const { rows } = await db.pool.query(`insert into sync_runs (mode, source, batch_size) values ('full', 'x', 100) returning id`);
    await service.syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, [row('1')]), mapping });
    const { rows: dead } = await db.pool.query(`select status, error_type, error_message from sync_runs where id = $1`, [rows[0].id]);
    expect(dead[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
    expect(dead[0].error_message).toMatch(/^interrupted: .*nothing of the run was written/);
  });

  it('runs never overlap: a second run while one holds the lock is refused', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(7340001)');
      const err = await service
        .syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, [row('1')]), mapping })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CannotRunError);
      expect((err as Error).message).toContain('another sync run is in progress');
    } finally {
      await holder.query('rollback');
      holder.release();
    }
  });
});

describe('no personal data in logs', () => {
  const marked = fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => `秘密${s}`);
  const cell = fc.oneof(
    marked,
    marked.map((s) => `${s}円`),
    marked.map((s) => `2024-${s}`),
    fc.constantFrom('#REF!', '', '12', '2024-01-01'),
  );
  it('error messages, stack traces, retry info and run records never contain a cell value but the buyer number', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('K1', 'K2', '', '#N/A'), fc.array(cell, { minLength: 13, maxLength: 13 })), { maxLength: 15 }), async (rows) => {
        await resetSyncState(db.pool);
        await service.syncAllWithErrorHandling({ source: new ArraySheetSource(HEADER, rows.map(([k, cells]) => [k, ...cells])), mapping });
        const { rows: logs } = await db.pool.query(
          `select coalesce(string_agg(error_message || coalesce(stack_trace, ''), ' '), '') as t from sync_error_log
           union all select coalesce(string_agg(error_info::text, ' '), '') from retry_queue
           union all select coalesce(string_agg(coalesce(error_message, '') || errors_by_type::text, ' '), '') from sync_runs
           union all select coalesce(string_agg(array_to_string(changed_columns, ','), ' '), '') from sync_buyer_changes`,
        );
        for (const l of logs) expect(l.t).not.toContain('秘密');
      }),
      { numRuns: 100 },
    );
  });
});
