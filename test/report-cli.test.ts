/**
 * `buyer-sync report --format md|csv|json` for a CSV export, through the real
 * command line: the contract's JSON shape, the same failing rows in every
 * format, exit 1 while rows fail and 0 when none do. And the database's side
 * of the worker job: a finished run enqueues report__write only while a
 * report tab is recorded as configured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import { recordReportSetting } from '../src/report/tab.ts';
import { runCli, useTestDatabase, writeCsv } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-report-cli-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (key: string, date = '', budget = '') => {
  const r = HEADER.map(() => '');
  r[0] = key;
  r[1] = 'Name';
  r[5] = date;
  r[9] = budget;
  return r;
};

describe('buyer-sync report', () => {
  it('prints the failing rows as md, csv and json (exit 1), and nothing to fix once they sync (exit 0)', async () => {
    const env = { DATABASE_URL: db.url, SHEET_REPORT_TAB: undefined };
    const bad = writeCsv(dir, [HEADER, row('B-1', 'someday'), row('=cmd', '', '3500万円'), row('B-3'), row('B-3')]);
    expect((await runCli(['sync', '--source', bad], env)).code).toBe(1);
    const json = await runCli(['report', '--format', 'json'], env);
    expect(json.code).toBe(1);
    const r = JSON.parse(json.stdout);
    expect(Object.keys(r)).toEqual(['generated_at', 'last_sync', 'counts', 'lines']);
    expect(Object.keys(r.last_sync)).toEqual(['run_id', 'status', 'finished_at']);
    expect(r.counts).toEqual({ on_sheet: 3, in_database: 1, missing: 2, failing: 3 });
    const rows = r.lines.filter((l: { kind: string }) => l.kind === 'row');
    expect(
      rows.map((l: { row_number: number; buyer_number: string; column: string }) => [
        l.row_number,
        l.buyer_number,
        l.column,
      ]),
    ).toEqual([
      [2, 'B-1', 'inquiry_date'],
      [3, '=cmd', 'budget'],
      [5, 'B-3', 'buyer_number'],
    ]);
    for (const l of r.lines)
      expect(Object.keys(l)).toEqual([
        'row_number',
        'buyer_number',
        'column',
        'error_type',
        'problem',
        'since',
        'attempts',
        'next_retry_at',
        'kind',
      ]);
    expect(r.lines.find((l: { kind: string }) => l.kind === 'duplicate')).toMatchObject({
      buyer_number: 'B-3',
      problem: expect.stringContaining('(4, 5)'),
    });
    expect(rows[0].problem).toMatch(/^column "Inquiry Date" \(inquiry_date\) is not a date \(expected/);

    const md = await runCli(['report'], env);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('| failing row | 2 | B-1 | Inquiry Date |');
    const csv = await runCli(['report', '--format', 'csv'], env);
    expect(csv.code).toBe(1);
    expect(csv.stdout.split('\r\n')[0]).toBe(
      'kind,row_number,buyer_number,column,error_type,problem,since,attempts,next_retry_at',
    );
    expect(csv.stdout).toContain("row,3,'=cmd,Budget,data_type,");
    expect((await runCli(['report', '--format', 'xml'], env)).code).toBe(2);

    const good = writeCsv(dir, [HEADER, row('B-1', '2024-03-15'), row('=cmd', '', '100'), row('B-3')]);
    expect((await runCli(['sync', '--source', good], env)).code).toBe(0);
    const after = await runCli(['report', '--json'], env);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ counts: { failing: 0, missing: 0 }, lines: [] });
  });

  it('a finished run enqueues report__write only while serve recorded a report tab', async () => {
    const jobs = async () =>
      (
        await db.pool.query(
          `select count(*)::int as n from graphile_worker.jobs where task_identifier = 'report__write'`,
        )
      ).rows[0].n as number;
    const finish = () =>
      db.pool.query(
        `insert into public.sync_runs (mode, source, batch_size, status, finished_at) values ('retry', 'x.csv', 100, 'succeeded', now())`,
      );
    await recordReportSetting(db.pool, { sheetReportTab: null, sheetSource: null });
    await finish();
    expect(await jobs()).toBe(0);
    await recordReportSetting(
      db.pool,
      { sheetReportTab: 'Report', sheetSource: 'gsheets:abcdefghijklmn' },
      { GOOGLE_APPLICATION_CREDENTIALS: '/k.json' },
    );
    await finish();
    await finish();
    expect(await jobs()).toBe(1); // coalesced by its job key
    await recordReportSetting(
      db.pool,
      { sheetReportTab: 'Report', sheetSource: 'gsheets:abcdefghijklmn' },
      { GOOGLE_API_KEY: 'k' },
    );
    expect((await db.pool.query(`select tab from buyer_sync_private.report_settings`)).rows).toEqual([{ tab: null }]);
  });
});

describe('the report in SQL', () => {
  it('since is the first full sync of the unbroken series that failed a row; a retryable row without a retry entry is listed; writes fail since the first failure', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      // Full syncs an hour apart, after everything the tests before made; an --only run between the last two.
      const run = async (hours: number, mode = 'full') =>
        (
          await c.query<{ id: string; at: Date }>(
            `insert into sync_runs (started_at, finished_at, status, mode, source, batch_size, total_rows, blank_rows, inserted, updated, unchanged, failed, errors_by_type)
             values (now() + $1 * interval '1 hour', now() + $1 * interval '1 hour' + interval '1 minute', 'succeeded', $2, 'seeded', 100, 0, 0, 0, 0, 0, 0, '{}')
             returning id, started_at as at`,
            [hours, mode],
          )
        ).rows[0]!;
      const fail = (r: { id: string; at: Date }, key: string | null, rowNumber: number, retryable = false) =>
        c.query(
          `insert into sync_error_log (buyer_number, row_number, error_message, error_type, retryable, created_at, run_id, column_name)
           values ($1, $2, 'row ' || $2::int || ': Budget is not a number', 'data_type', $3, $4, $5, 'budget')`,
          [key, rowNumber, retryable, r.at, r.id],
        );
      const r1 = await run(1);
      await fail(r1, 'S-1', 20);
      await fail(r1, 'S-2', 21);
      await fail(r1, null, 70);
      const r2 = await run(2);
      await fail(r2, 'S-1', 20);
      await fail(r2, null, 70);
      await run(2.5, 'only');
      const r3 = await run(3);
      await fail(r3, 'S-1', 20);
      await fail(r3, 'S-2', 21);
      await fail(r3, null, 70);
      await fail(r3, 'S-4', 23, true);
      const { rows } = await c.query<{ buyer_number: string | null; row_number: number; since: Date }>(
        `select buyer_number, row_number, since from buyer_sync.report_failing_rows order by row_number`,
      );
      expect(rows).toEqual([
        { buyer_number: 'S-1', row_number: 20, since: r1.at },
        { buyer_number: 'S-2', row_number: 21, since: r3.at },
        { buyer_number: 'S-4', row_number: 23, since: r3.at },
        { buyer_number: null, row_number: 70, since: r1.at },
      ]);

      await c.query(
        `insert into buyer_sync_private.report_state (target, content_hash, written_at, lines) values ('t', 'h', now(), 1);
         insert into buyer_sync_private.report_writes (target, attempted_at, outcome, failure)
         values ('t', now() + interval '1 minute', 'failed', 'quota'), ('t', now() + interval '2 minutes', 'failed', 'server')`,
      );
      const status = await c.query<{ first: boolean; last_failure: string }>(
        `select failing_since_write = now() + interval '1 minute' as first, last_failure from buyer_sync.report_status where target = 't'`,
      );
      expect(status.rows).toEqual([{ first: true, last_failure: 'server' }]);
    } finally {
      await c.query('rollback');
      c.release();
    }
  });
});
