/**
 * Failures the sync must survive: a blocking schema, rows the database
 * rejects, a connection killed mid-run, a sheet that breaks off mid-read,
 * overlapping runs. And: no personal data in anything the sync logs.
 */
import fc from 'fast-check';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { CannotRunError } from '../src/errors.ts';
import { loadMapping, parseMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import type { SheetReader, SheetRow, SheetSource } from '../src/sheet/source.ts';
import { sync, syncBuyerNumbers, SyncAbortedError } from '../src/index.ts';
import { recordedRuns, resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const db = useTestDatabase();
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
    return {
      header: HEADER,
      rows: rows(),
      format: { encoding: null, dateSerials: true },
      warnings: [],
      close: async () => undefined,
    };
  }
}

describe('the schema check blocks the sync', () => {
  it('refuses (exit 3) naming the table and column, and writes nothing', async () => {
    await db.pool.query(`alter table buyers add column referrer varchar(50)`);
    try {
      const err = await sync(db.pool, { source: new ArraySheetSource(HEADER, [row('1', { 1: 'x' })]), mapping }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CannotRunError);
      expect((err as CannotRunError).exitCode).toBe(3);
      expect((err as Error).message).toContain('buyers.referrer is character varying(50)');
      expect(await count('buyers')).toBe(0);
      expect(await recordedRuns(db.pool)).toEqual([
        { status: 'failed', failure: 'blocked', error_type: 'unknown', total_rows: 0, inserted: 0 },
      ]);
    } finally {
      await db.pool.query(`alter table buyers drop column referrer`);
    }
  });
});

describe('rows the database rejects fail alone', () => {
  it('a CHECK violation fails only its rows (constraint_violation, not queued); the rest of the batch is written', async () => {
    await db.pool.query(`alter table buyers add constraint budget_not_negative check (budget >= 0)`);
    try {
      const rows = Array.from({ length: 10 }, (_, i) =>
        row(`B${i}`, { 1: `秘密の名前${i}`, 9: i % 4 === 1 ? `-${i}000` : `${i}000` }),
      );
      const r = await sync(db.pool, { source: new ArraySheetSource(HEADER, rows), mapping, batchSize: 10 });
      expect(r).toMatchObject({ inserted: 7, failed: 3, errorsByType: { constraint_violation: 3 } });
      const { rows: errors } = await db.pool.query(
        `select row_number, buyer_number, error_type, error_message, retryable from sync_error_log order by row_number`,
      );
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
      const r = await sync(db.pool, { source: new ArraySheetSource(HEADER, rows), mapping });
      expect(r).toMatchObject({ inserted: 1, failed: 2, errorsByType: { field_length: 1, unknown: 1 } });
      const { rows: errors } = await db.pool.query(
        `select buyer_number, error_type, error_message, stack_trace, retryable from sync_error_log order by buyer_number`,
      );
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
    const err = await sync(db.pool, { source: killer, mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    const aborted = err as SyncAbortedError;
    expect(aborted.exitCode).toBe(3);
    expect(aborted.errorType).toBe('transient');
    expect(aborted.message).toMatch(
      /^sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: the database connection was lost/,
    );
    expect(await count('buyers')).toBe(0);
    expect(await count('sync_buyer_changes')).toBe(0);
    const { rows: runs } = await db.pool.query(`select status, error_type from sync_runs where id = $1`, [
      aborted.runId,
    ]);
    expect(runs).toEqual([{ status: 'failed', error_type: 'transient' }]);
    const { rows: logged } = await db.pool.query(
      `select error_type, row_number from sync_error_log where run_id = $1`,
      [aborted.runId],
    );
    expect(logged).toEqual([{ error_type: 'transient', row_number: null }]);

    const next = await sync(db.pool, { source: new ArraySheetSource(HEADER, sheet), mapping });
    expect(next).toMatchObject({ inserted: 1000, failed: 0 });
  });

  it('a sheet that breaks off mid-read writes nothing', async () => {
    const broken = new HookedSource(sheet, 3, async () => {
      throw new CannotRunError('reading the sheet failed: connection reset');
    });
    const err = await sync(db.pool, { source: broken, mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    expect((err as Error).message).toContain('reading the sheet failed: connection reset');
    expect(await count('buyers')).toBe(0);
    expect(await count('buyer_sync_private.sheet_buyers')).toBe(0);
  });

  it('a run whose process died (still marked running) is marked interrupted by the next run', async () => {
    const { rows } = await db.pool.query(
      `insert into sync_runs (mode, source, batch_size) values ('full', 'x', 100) returning id`,
    );
    await sync(db.pool, { source: new ArraySheetSource(HEADER, [row('1')]), mapping });
    const { rows: dead } = await db.pool.query(
      `select status, error_type, error_message from sync_runs where id = $1`,
      [rows[0].id],
    );
    expect(dead[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
    expect(dead[0].error_message).toMatch(/^interrupted: .*nothing of the run was written/);
  });

  it('runs never overlap: a second run while one holds the lock is refused', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(7340001)');
      const err = await sync(db.pool, { source: new ArraySheetSource(HEADER, [row('1')]), mapping }).catch(
        (e: unknown) => e,
      );
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
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('K1', 'K2', '', '#N/A'), fc.array(cell, { minLength: 13, maxLength: 13 })), {
          maxLength: 15,
        }),
        async (rows) => {
          await resetSyncState(db.pool);
          await sync(db.pool, {
            source: new ArraySheetSource(
              HEADER,
              rows.map(([k, cells]) => [k, ...cells]),
            ),
            mapping,
          });
          const { rows: logs } = await db.pool.query(
            `select coalesce(string_agg(error_message || coalesce(stack_trace, ''), ' '), '') as t from sync_error_log
           union all select coalesce(string_agg(error_info::text, ' '), '') from retry_queue
           union all select coalesce(string_agg(coalesce(error_message, '') || errors_by_type::text, ' '), '') from sync_runs
           union all select coalesce(string_agg(array_to_string(changed_columns, ','), ' '), '') from sync_buyer_changes`,
          );
          for (const l of logs) expect(l.t).not.toContain('秘密');
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('whatever the database refuses fails its own row, never the run', () => {
  it("a new buyer someone else inserts while the run reads the sheet is not lost: it ends with the sheet's values, and the run succeeds", async () => {
    const rows = Array.from({ length: 300 }, (_, i) => row(`N${String(i).padStart(3, '0')}`, { 1: `名前${i}` }));
    // After the first 100 rows, another writer inserts a buyer the run has planned as new (every pass: idempotent).
    const meanwhile = async () => {
      await db.pool.query(
        `insert into buyers (buyer_number, name) values ('N250', 'someone else') on conflict (buyer_number) do nothing`,
      );
    };
    const r = await sync(db.pool, { source: new HookedSource(rows, 1, meanwhile), mapping });
    expect(r.failed).toBe(0);
    expect(r.inserted + r.updated).toBe(300);
    expect(await count('buyers')).toBe(300);
    const { rows: held } = await db.pool.query(`select name from buyers where buyer_number = 'N250'`);
    expect(held[0].name).toBe('名前250');
  });

  it('triggers raising 54000, 22001, 23514, 57014 and 40001 on chosen rows: those rows are logged with their row numbers and categories, every other row syncs', async () => {
    await db.pool.query(`
      create function public.refuse_chosen() returns trigger language plpgsql as $$
      begin
        if new.status like 'raise %' then
          raise exception 'refused' using errcode = substr(new.status, 7);
        end if;
        return new;
      end $$;
      create trigger refuse_chosen before insert or update on buyers for each row execute function public.refuse_chosen();`);
    try {
      const codes = ['54000', '22001', '23514', '57014', '40001'];
      const rows = Array.from({ length: 40 }, (_, i) =>
        row(`K${String(i).padStart(2, '0')}`, {
          1: `秘密${i}`,
          10: i % 8 === 3 ? `raise ${codes[(i - 3) / 8]}` : '新規',
        }),
      );
      const r = await sync(db.pool, { source: new ArraySheetSource(HEADER, rows), mapping, batchSize: 10 });
      expect(r).toMatchObject({
        inserted: 35,
        failed: 5,
        errorsByType: { field_length: 2, constraint_violation: 1, transient: 2, data_type: 0, unknown: 0 },
      });
      const { rows: errors } = await db.pool.query(
        `select row_number, buyer_number, error_type, retryable, error_message from sync_error_log order by row_number`,
      );
      expect(errors.map((e) => [e.row_number, e.buyer_number, e.error_type, e.retryable])).toEqual([
        [5, 'K03', 'field_length', true],
        [13, 'K11', 'field_length', true],
        [21, 'K19', 'constraint_violation', false],
        [29, 'K27', 'transient', true],
        [37, 'K35', 'transient', true],
      ]);
      for (const e of errors) expect(e.error_message).not.toMatch(/秘密|raise/);
      const { rows: queue } = await db.pool.query(`select buyer_number from retry_queue order by 1`);
      expect(queue.map((q) => q.buyer_number)).toEqual(['K03', 'K11', 'K27', 'K35']);
    } finally {
      await db.pool.query(`drop trigger refuse_chosen on buyers; drop function public.refuse_chosen()`);
    }
  });

  it('a real 54000: an analyst indexes notes, and a note too big for a btree entry fails its own row as field_length', async () => {
    await db.pool.query(`create index buyers_notes_idx on buyers (notes)`);
    try {
      // Random text does not compress below the btree limit (~2.7 kB).
      const noise = Array.from({ length: 6000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join('');
      const r = await sync(db.pool, {
        source: new ArraySheetSource(HEADER, [row('A'), row('B', { 13: noise }), row('C')]),
        mapping,
      });
      expect(r).toMatchObject({ inserted: 2, failed: 1, errorsByType: { field_length: 1 } });
      const { rows } = await db.pool.query(`select row_number, buyer_number, error_message from sync_error_log`);
      expect(rows).toEqual([
        {
          row_number: 3,
          buyer_number: 'B',
          error_message:
            'row 3: the database rejected the row (54000: a value is too large for an index or a limit of the server)',
        },
      ]);
    } finally {
      await db.pool.query(`drop index buyers_notes_idx`);
    }
  });

  it('a 3,000-character buyer number fails its own row (field_length), is logged, queued and in the sheet snapshot; every run, without stopping any', async () => {
    const long = `B${'9'.repeat(2999)}`;
    const sheet = new ArraySheetSource(HEADER, [row('A'), row(long, { 1: 'x' }), row('C')]);
    for (let run = 1; run <= 2; run++) {
      const r = await sync(db.pool, { source: sheet, mapping });
      expect(r).toMatchObject({ failed: 1, errorsByType: { field_length: 1 } });
    }
    const { rows: errors } = await db.pool.query(`select row_number, buyer_number, error_message from sync_error_log`);
    expect(errors).toHaveLength(2);
    expect(errors[0].buyer_number).toBe(long);
    expect(errors[0].error_message).toBe(
      'row 3: column "Buyer Number" (buyer_number) is 3,000 characters long; a buyer number may have at most 200',
    );
    expect((await db.pool.query(`select buyer_number from retry_queue`)).rows).toEqual([{ buyer_number: long }]);
    expect((await db.pool.query(`select buyer_number from buyer_sync.missing_buyers`)).rows).toEqual([
      { buyer_number: long },
    ]);
    expect((await db.pool.query(`select buyer_number from buyers order by 1`)).rows.map((b) => b.buyer_number)).toEqual(
      ['A', 'C'],
    );
  });
});

describe('the column mapping is checked before the sheet is read', () => {
  const unread: SheetSource = {
    description: 'never read',
    open: async () => {
      throw new Error('the sheet was read before the mapping was checked');
    },
  };
  const refusal = async (m = mapping) => {
    const err = await sync(db.pool, { source: unread, mapping: m }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    // Recorded as blocked, before the sheet was read.
    expect(await recordedRuns(db.pool)).toEqual([
      { status: 'failed', failure: 'blocked', error_type: 'unknown', total_rows: 0, inserted: 0 },
    ]);
    await db.pool.query('delete from sync_error_log; delete from sync_runs');
    return (err as Error).message;
  };

  it('a key column without a unique index: one line naming the column and the fix', async () => {
    await db.pool.query(`alter table buyers drop constraint buyers_buyer_number_key`);
    try {
      expect(await refusal()).toMatch(
        /^sync refused, nothing written: the column mapping .*sheet-mapping\.json does not fit the table: buyers\.buyer_number, the key, has no unique index of its own: add one with a migration \(alter table buyers add unique \(buyer_number\)\)/,
      );
    } finally {
      await db.pool.query(`alter table buyers add constraint buyers_buyer_number_key unique (buyer_number)`);
    }
  });

  it('types that do not fit, generated columns and missing columns: each named with its fix', async () => {
    await db.pool.query(`alter table buyers add column floor_count integer`);
    try {
      const m = parseMapping(
        {
          key: 'buyer_number',
          columns: [
            ...mapping.columns,
            { header: 'Floors', column: 'floor_count', type: 'bigint' },
            { header: 'Hash', column: 'content_hash', type: 'text' },
            { header: 'Referrer', column: 'referrer', type: 'text' },
          ],
        },
        'custom.json',
      );
      const message = await refusal(m);
      expect(message).toMatch(
        /^sync refused, nothing written: the column mapping custom\.json does not fit the table: /,
      );
      expect(message).toContain('buyers.floor_count is integer, but the mapping reads header "Floors" as bigint');
      expect(message).toContain('buyers.content_hash is a generated column');
      expect(message).toContain('buyers.referrer does not exist (the mapping reads header "Referrer" into it)');
      expect(message.split('\n')).toHaveLength(1);
    } finally {
      await db.pool.query(`alter table buyers drop column floor_count`);
    }
  });
});

describe('buyer numbers that look alike are never merged silently', () => {
  it('a later spelling that equals an earlier one once NFKC-normalized fails as constraint_violation naming both rows', async () => {
    const warnings: string[] = [];
    const rows = [
      row('123', { 1: 'a' }),
      row('１２３', { 1: 'b' }),
      row('Jos\u00e9'),
      row('Jose\u0301'),
      row('B 7'),
      row('B\u30007'),
    ];
    const r = await sync(db.pool, {
      source: new ArraySheetSource(HEADER, rows),
      mapping,
      warn: (w) => warnings.push(w),
    });
    expect(r).toMatchObject({ inserted: 3, failed: 3, errorsByType: { constraint_violation: 3 } });
    const { rows: errors } = await db.pool.query(
      `select row_number, buyer_number, error_message, retryable from sync_error_log order by row_number`,
    );
    expect(errors.map((e) => [e.row_number, e.buyer_number, e.retryable])).toEqual([
      [3, '１２３', false],
      [5, 'Jose\u0301', false],
      [7, 'B\u30007', false],
    ]);
    expect(errors[0].error_message).toMatch(
      /^row 3: buyer number １２３ is the same as 123 on row 2 once Unicode-normalized/,
    );
    expect(warnings.some((w) => /^3 buyer number\(s\) are written two ways/.test(w))).toBe(true);
    expect((await db.pool.query(`select buyer_number from buyers order by 1`)).rows.map((b) => b.buyer_number)).toEqual(
      ['123', 'B 7', 'Jos\u00e9'],
    );
  });

  it('--only judges a listed number as a full run does: a lookalike of an earlier row still fails', async () => {
    const sheet = new ArraySheetSource(HEADER, [row('123'), row('１２３'), row('9')]);
    const r = await syncBuyerNumbers(db.pool, ['１２３'], { source: sheet, mapping });
    expect(r).toMatchObject({ totalRows: 1, inserted: 0, failed: 1, errorsByType: { constraint_violation: 1 } });
    expect(await count('buyers')).toBe(0);
  });
});

describe('huge cells', () => {
  it('a cell longer than a source keeps fails its own row as field_length; the rest sync', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const { CsvSheetSource } = await import('../src/sheet/csv/source.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-big-'));
    try {
      const file = path.join(dir, 'big.csv');
      const pad = ','.repeat(HEADER.length - 2);
      writeFileSync(file, [HEADER.join(','), `A,${'x'.repeat(500)}${pad}`, `B,short${pad}`].join('\n'));
      const source = new CsvSheetSource(file, { limits: { maxCellLength: 100, maxRecordLength: 1000 } });
      const r = await sync(db.pool, { source, mapping });
      expect(r).toMatchObject({ inserted: 1, failed: 1, errorsByType: { field_length: 1 } });
      const { rows } = await db.pool.query(`select row_number, buyer_number, error_message from sync_error_log`);
      expect(rows).toEqual([
        {
          row_number: 2,
          buyer_number: 'A',
          error_message: 'row 2: column "Name" (name) is 500 characters long, more than the 100 a cell may hold',
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a run that did not finish says why, and sync_runs records the real reason', () => {
  const sheet = Array.from({ length: 1000 }, (_, i) => row(String(i).padStart(5, '0'), { 1: 'n' }));
  const admin = async (sql: string) => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: db.url.replace(db.name, 'postgres') });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };

  it('every connection of the database terminated (the pool idle ones too): the failure is still recorded, not left for "interrupted"', async () => {
    const killer = new HookedSource(sheet, 4, () =>
      admin(
        `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and backend_type = 'client backend'`,
      ),
    );
    const err = await sync(db.pool, { source: killer, mapping }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    expect((err as Error).message).toMatch(
      /wrote nothing: the database connection was lost \((57P01|ECONNRESET|connection closed)\); run the sync again$/,
    );
    const { rows } = await db.pool.query(`select status, error_type, error_message from sync_runs where id = $1`, [
      (err as SyncAbortedError).runId,
    ]);
    expect(rows[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
    expect(rows[0].error_message).toMatch(/the database connection was lost/);
  });

  it('a database that cannot be told at all: the reason goes to the run journal, and the next run writes it into sync_runs', async () => {
    const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
    const os = await import('node:os');
    const { RunJournal } = await import('../src/sync/run-journal.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-journal-'));
    const journal = new RunJournal(dir);
    const engine = { journal, databaseGone: async () => 'the server went away (test)' };
    try {
      const locker = new HookedSource(sheet, 4, () =>
        admin(`alter database "${db.name}" allow_connections false;
               select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}' and backend_type = 'client backend'`),
      );
      const err = await sync(db.pool, { source: locker, mapping, engine }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncAbortedError);
      expect((err as Error).message).toMatch(
        /the database connection was lost \(.*\): the server went away \(test\); run the sync again \(sync_runs could not be told now, .*; the next sync records it\)$/,
      );
      expect(existsSync(journal.file)).toBe(true);
      await admin(`alter database "${db.name}" allow_connections true`);

      await sync(db.pool, { source: new ArraySheetSource(HEADER, [row('1')]), mapping, engine });
      const { rows } = await db.pool.query(`select status, error_type, error_message from sync_runs where id = $1`, [
        (err as SyncAbortedError).runId,
      ]);
      expect(rows[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
      expect(rows[0].error_message).toMatch(
        /stopped after \d+ rows and wrote nothing: the database connection was lost .*the server went away \(test\)$/,
      );
      expect(existsSync(journal.file)).toBe(false);
    } finally {
      await admin(`alter database "${db.name}" allow_connections true`);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run stopped by its signal (Ctrl-C) rolls back and records that it was stopped', async () => {
    const controller = new AbortController();
    const stopper = new HookedSource(sheet, 3, async () => controller.abort('SIGINT received (Ctrl-C)'));
    const err = await sync(db.pool, { source: stopper, mapping, signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncAbortedError);
    expect((err as Error).message).toMatch(
      /^sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: stopped: SIGINT received \(Ctrl-C\)$/,
    );
    expect(await count('buyers')).toBe(0);
    const { rows } = await db.pool.query(`select status, error_message from sync_runs`);
    expect(rows).toEqual([{ status: 'failed', error_message: (err as Error).message }]);
  });
});

describe('a commit whose answer never arrives', () => {
  it('the run did commit: it says so and reports its counts, never "wrote nothing"', async () => {
    const net = await import('node:net');
    const { createPool } = await import('../src/db/connection.ts');
    const target = new URL(db.url);
    let armed = true;
    const sockets = new Set<Socket>();
    // A proxy that passes the commit on to PostgreSQL and then cuts the connection before its answer comes back
    // (once PostgreSQL has answered: the commit is done, and the client never hears of it).
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      let cutting = false;
      client.on('data', (d: Buffer) => {
        upstream.write(d);
        if (armed && d.includes('commit\0')) {
          armed = false;
          cutting = true;
        }
      });
      let answer = Buffer.alloc(0);
      upstream.on('data', (d: Buffer) => {
        if (!cutting) {
          client.write(d);
          return;
        }
        // The commit's answer, whole once ReadyForQuery ('Z', length 5) comes: the commit is done, and the client never hears it.
        answer = Buffer.concat([answer, d]);
        if (answer.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) {
          client.destroy();
          upstream.destroy();
        }
      });
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const pool = createPool(url.toString(), 3);
    try {
      const warnings: string[] = [];
      const rows = Array.from({ length: 50 }, (_, i) => row(`C${i}`));
      const r = await sync(pool, {
        source: new ArraySheetSource(HEADER, rows),
        mapping,
        warn: (w) => warnings.push(w),
      });
      expect(armed).toBe(false);
      expect(r).toMatchObject({ inserted: 50, failed: 0 });
      expect(warnings).toContain(
        'the database connection was lost as the run committed; the run was written (sync_runs says so)',
      );
      expect(await count('buyers')).toBe(50);
      expect((await db.pool.query(`select status from sync_runs where id = $1`, [r.runId])).rows).toEqual([
        { status: 'succeeded' },
      ]);
    } finally {
      await pool.end();
      for (const s of sockets) s.destroy();
      proxy.close();
    }
  });
});
