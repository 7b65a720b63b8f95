/**
 * The monitoring commands as users run them (the real `buyer-sync` binary on
 * a real database): `health`, `verify`, `sync --dry-run` and `db-url`, their
 * `--json` shapes (contract.md), exit codes and human output.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { HEADER } from '../src/sample/generate.ts';
import { resetSyncState, runCli, useTestDatabase, writeCsv } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-monitor-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => resetSyncState(db.pool));

const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: undefined,
  SHEET_ENCODING: undefined,
  ALERT_WEBHOOK_URL: undefined,
  VERIFY_SAMPLE: undefined,
  ...extra,
});
const row = (key: string, over: Record<number, string> = {}) =>
  HEADER.map((h, i) => (i === 0 ? key : (over[i] ?? (h === 'Name' ? `Name ${key}` : ''))));
const csv = (rows: string[][]) => writeCsv(dir, [HEADER, ...rows]);
const count = async (table: string) =>
  (await db.pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;

describe('health', () => {
  it('--json prints exactly the contract shape; exit 0 when healthy, 1 when not; every check is recorded', async () => {
    const good = csv([row('H1'), row('H2')]);
    expect((await runCli(['sync', '--source', good], env())).code).toBe(0);
    const ok = await runCli(['health', '--source', good, '--json'], env());
    expect(ok.code).toBe(0);
    const h = JSON.parse(ok.stdout);
    expect(Object.keys(h)).toEqual([
      'healthy',
      'issues',
      'missing_count',
      'error_rate',
      'last_sync_time',
      'retry_queue_size',
    ]);
    expect(h).toMatchObject({ healthy: true, issues: [], missing_count: 0, error_rate: 0, retry_queue_size: 0 });
    expect(new Date(h.last_sync_time).getTime()).toBeGreaterThan(Date.now() - 60_000);

    // Eleven buyers appear on the sheet that the database does not have: missing by set difference, not by counts.
    const grown = csv([row('H1'), row('H2'), ...Array.from({ length: 11 }, (_, i) => row(`N${i}`))]);
    const bad = await runCli(['health', '--source', grown, '--json'], env());
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      healthy: false,
      missing_count: 11,
      issues: [expect.stringContaining('11 buyer(s) on the sheet are not in the database (threshold 10)')],
    });
    const human = await runCli(['health', '--source', grown], env());
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('Unhealthy: 1 issue(s)');
    expect(human.stdout).toMatch(/missing: +11 on the sheet, not in the database; 0 in the database, not on the sheet/);
    expect(await count('sync_health_metrics')).toBe(3);
    expect(
      (
        await db.pool.query(
          `select count(*)::int as n from sync_alerts where type = 'missing_buyers' and resolves is null`,
        )
      ).rows[0].n,
    ).toBe(1);
  });

  it('a sheet that cannot be read: exit 3 with one line, after judging the last snapshot', async () => {
    const r = await runCli(['health', '--source', path.join(dir, 'absent.csv'), '--json'], env());
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^buyer-sync: the sheet could not be read: cannot read the sheet export .*absent\.csv/),
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      healthy: false,
      issues: expect.arrayContaining([expect.stringMatching(/^the sheet could not be read now/)]),
    });
    expect(await count('sync_health_metrics')).toBe(1);
  });
});

describe('verify', () => {
  it('--json: the contract shape; exit 0 when it passes, 1 when a buyer is missing or differs; --format md for a ticket', async () => {
    const file = csv([row('V1'), row('V2'), row('V3', { 9: '¥1,200' })]);
    expect((await runCli(['sync', '--source', file], env())).code).toBe(0);
    const ok = await runCli(['verify', '--source', file, '--json'], env());
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report).toMatchObject({
      passed: true,
      completeness: { complete: true, missing_count: 0, missing_buyer_numbers: [] },
      accuracy: { accurate: true, sample_size: 3, mismatch_count: 0, mismatches: [] },
    });
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['timestamp', 'passed', 'summary', 'completeness', 'accuracy']),
    );

    await db.pool.query(`update buyers set budget = 1300 where buyer_number = 'V3'`);
    await db.pool.query(`delete from buyers where buyer_number = 'V1'`);
    const bad = await runCli(['verify', '--source', file, '--json', '--sample', 'all'], env());
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      passed: false,
      completeness: { complete: false, missing_count: 1, missing_buyer_numbers: ['V1'] },
      accuracy: {
        accurate: false,
        sample_size: 2,
        mismatch_count: 1,
        mismatches: [{ buyer_number: 'V3', field: 'budget', spreadsheet_value: '1200', database_value: '1300' }],
      },
    });
    const md = await runCli(['verify', '--source', file, '--format', 'md', '--seed', '7'], env());
    expect(md.code).toBe(1);
    expect(md.stdout).toMatch(/^# buyer-sync verification: FAILED\n/);
    expect(md.stdout).toContain('| `V3` | budget | 1200 | 1300 |');
    expect(md.stdout).toContain('seed 7');
    const text = await runCli(['verify', '--source', file], env());
    expect(text.stdout).toMatch(/^Verification FAILED \(report [0-9a-f-]{36}\)/);
    expect(text.stdout).toContain('V3: budget differs');
    expect(text.stdout).not.toContain('1300'); // values only in --format md, --json and the table
    expect(await count('buyer_sync.verification_reports')).toBe(4);
  });

  it.each([
    [['verify', '--sample', '-1']],
    [['verify', '--sample', 'some']],
    [['verify', '--format', 'html']],
    [['verify', '--seed', 'abc']],
    [['verify', '--json', '--format', 'md']],
  ])('usage error %j: exit 2', async (args) => {
    expect((await runCli(args, env())).code).toBe(2);
  });
});

describe('sync --dry-run', () => {
  it('reports what the run would insert, update (with the changed columns) and fail, and changes nothing at all', async () => {
    expect((await runCli(['sync', '--source', csv([row('D1'), row('D2'), row('D3')])], env())).code).toBe(0);
    const state = async () => ({
      buyers: (await db.pool.query('select buyer_number, name, phone, db_updated_at from buyers order by 1')).rows,
      runs: await count('sync_runs'),
      errors: await count('sync_error_log'),
      retries: await count('retry_queue'),
      alerts: await count('sync_alerts'),
      changes: await count('sync_buyer_changes'),
      jobs: await count('graphile_worker.jobs'),
      snapshot: (await db.pool.query('select * from buyer_sync_private.sheet_snapshot')).rows,
    });
    const before = await state();
    const edited = csv([
      row('D1'),
      row('D2', { 1: 'New name', 2: '090-1' }),
      row('D3', { 5: 'soon' }),
      row('D4'),
      row('D5'),
    ]);
    const r = await runCli(['sync', '--source', edited, '--dry-run', '--json'], env());
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      dry_run: true,
      run_id: null,
      total_rows: 5,
      inserted: 2,
      updated: 1,
      unchanged: 1,
      failed: 1,
      would_insert: ['D4', 'D5'],
      would_update: [{ buyer_number: 'D2', changed_columns: ['name', 'phone'] }],
      would_fail: [{ buyer_number: 'D3', row_number: 4, error_type: 'data_type', column_name: 'inquiry_date' }],
    });
    expect(await state()).toEqual(before);

    const human = await runCli(['sync', '--source', edited, '--dry-run'], env());
    expect(human.stdout).toContain('nothing was written');
    expect(human.stdout).toContain('would insert: D4, D5');
    expect(human.stdout).toContain('D2: name, phone');
    expect(human.stdout).toContain('row 4 (D3): data_type in inquiry_date');
    expect(await state()).toEqual(before);
  });

  it('when the database refuses a row, the dry run isolates it like the real run: the rest is still reported as inserted', async () => {
    await db.pool.query(`alter table buyers add constraint no_vip check (status is distinct from 'VIP')`);
    try {
      const r = await runCli(
        ['sync', '--source', csv([row('I1'), row('I2', { 10: 'VIP' }), row('I3')]), '--dry-run', '--json'],
        env(),
      );
      expect(JSON.parse(r.stdout)).toMatchObject({
        inserted: 2,
        failed: 1,
        would_insert: ['I1', 'I3'],
        would_fail: [{ buyer_number: 'I2', row_number: 3, error_type: 'constraint_violation' }],
      });
      expect(r.stderr).toContain('repeating the run with each batch isolated');
      expect(await count('buyers')).toBe(0);
      expect(await count('sync_runs')).toBe(0);
    } finally {
      await db.pool.query(`alter table buyers drop constraint no_vip`);
    }
  });

  it('a dry run that cannot finish says so in one line and records nothing, not even in the run journal', async () => {
    const journal = path.join(dir, 'journal');
    const broken = path.join(dir, 'broken.csv');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(broken, `${HEADER.join(',')}\nB1,"never closed\n`);
    const r = await runCli(['sync', '--source', broken, '--dry-run'], env({ BUYER_SYNC_DATA_DIR: journal }));
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^buyer-sync: the sheet export .* is not valid CSV: row 2: .*nothing was written/),
    ]);
    expect(await count('sync_runs')).toBe(0);
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(journal, 'unrecorded-runs.jsonl'))).toBe(false);
  });

  it('a dry run that would raise an alert says so, and raises nothing', async () => {
    const r = await runCli(
      [
        'sync',
        '--source',
        csv(Array.from({ length: 12 }, (_, i) => row(`E${i}`, { 5: 'never' }))),
        '--dry-run',
        '--json',
      ],
      env(),
    );
    expect(JSON.parse(r.stdout).would_raise_alerts).toEqual([
      { type: 'missing_buyers', severity: 'error', resolved: false },
      { type: 'high_error_rate', severity: 'error', resolved: false },
    ]);
    expect(await count('sync_alerts')).toBe(0);
  });
});

describe('db-url', () => {
  it('prints the connection string in use; --json says whether it is the embedded server', async () => {
    const r = await runCli(['db-url'], env());
    expect(r).toMatchObject({ code: 0, stdout: `${db.url}\n` });
    expect(JSON.parse((await runCli(['db-url', '--json'], env())).stdout)).toEqual({
      url: db.url,
      embedded: false,
      running: null,
    });
  });

  it('the embedded database that was never created: exit 3, saying how to create it', async () => {
    const r = await runCli(['db-url'], {
      ...env(),
      DATABASE_URL: undefined,
      BUYER_SYNC_DATA_DIR: path.join(dir, 'nothing-here'),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /the embedded database does not exist yet .*`npm start` or `npx buyer-sync migrate` creates it/,
    );
  });
});

describe('help', () => {
  it('--help lists every command; each command describes its options', async () => {
    const r = await runCli(['--help'], env());
    for (const c of [
      'migrate',
      'check-schema',
      'sync',
      'missing',
      'errors',
      'retry',
      'health',
      'verify',
      'db-url',
      'serve',
    ])
      expect(r.stdout).toContain(`  ${c}`);
    expect((await runCli(['verify', '--help'], env())).stdout).toMatch(
      /--sample <n>[\s\S]*--seed <n>[\s\S]*--format <format>/,
    );
    expect((await runCli(['sync', '--help'], env())).stdout).toContain('--dry-run');
  });
});
