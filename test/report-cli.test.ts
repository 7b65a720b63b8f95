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
