/**
 * `sync`, `missing`, `errors` and `npm start` as users run them: real child
 * processes, the contract's JSON shapes and exit codes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { HEADER } from '../src/sample/generate.ts';
import { SAMPLE_SHEET } from '../src/sheet/open.ts';
import { resetSyncState, runCli, spawnCli, useTestDatabase, waitFor } from './helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-cli-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => resetSyncState(db.pool));

const env = () => ({ DATABASE_URL: db.url, SHEET_SOURCE: undefined });
let n = 0;
function csv(rows: string[][]): string {
  const f = path.join(dir, `sheet-${n++}.csv`);
  writeFileSync(
    f,
    rows.map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',')).join('\n'),
  );
  return f;
}
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const count = async (table: string) => Number((await db.pool.query(`select count(*) from ${table}`)).rows[0].count);

const SYNC_KEYS = [
  'run_id',
  'source',
  'total_rows',
  'blank_rows',
  'inserted',
  'updated',
  'unchanged',
  'failed',
  'errors_by_type',
  'retry_queue_size',
  'duration_ms',
  'rows_per_second',
];

describe('sync', () => {
  it('a note of ordinary prose over several lines, a dozen commas on each, syncs (a quoted cell is one cell, whatever it holds)', async () => {
    const NOTES = HEADER.indexOf('Notes');
    const prose = [
      'pets OK, quiet, a, b, c, south-facing, near the station, two bedrooms, parking, no smokers, budget flexible, wants May, call first',
      'second visit: liked the kitchen, the light, the view, the school, the park, the price, the size, the street, the neighbours, the layout',
      '"maybe", she said, "if the bank agrees, if the survey is fine, if, if, if"',
    ].join('\r\n');
    const rows = [HEADER, row('P001', { [NOTES]: prose }), row('P002', { [NOTES]: prose.replaceAll('\r\n', '\n') })];
    const file = path.join(dir, `prose-${n++}.csv`);
    // Quoted as Google Sheets writes it: the whole cell in quotes, inner quotes doubled.
    writeFileSync(
      file,
      rows.map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(',')).join('\r\n'),
    );
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ inserted: 2, failed: 0 });
    const { rows: stored } = await db.pool.query(`select buyer_number, notes from buyers order by 1`);
    expect(stored).toEqual([
      { buyer_number: 'P001', notes: prose },
      { buyer_number: 'P002', notes: prose.replaceAll('\r\n', '\n') },
    ]);
  });

  it('--json prints the contract shape; exit 0 when every row synced', async () => {
    const file = csv([HEADER, row('001', { 1: 'a' }), row('002', { 9: '¥1,000' }), ['', '']]);
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(Object.keys(body).sort()).toEqual([...SYNC_KEYS].sort());
    expect(body).toMatchObject({
      source: file,
      total_rows: 3,
      blank_rows: 1,
      inserted: 2,
      updated: 0,
      unchanged: 0,
      failed: 0,
      retry_queue_size: 0,
    });
    expect(body.errors_by_type).toEqual({
      field_length: 0,
      data_type: 0,
      constraint_violation: 0,
      transient: 0,
      unknown: 0,
    });
    expect(body.run_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exit 1 when rows failed, with a human summary that points at the errors', async () => {
    const file = csv([HEADER, row('001', { 5: 'someday' }), row('', { 1: 'no number' }), row('003')]);
    const r = await runCli(['sync', '--source', file], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('3 read: 1 inserted, 0 updated, 0 unchanged, 2 failed, 0 blank');
    expect(r.stdout).toContain('data_type 1, constraint_violation 1');
    expect(r.stdout).toMatch(/npx buyer-sync errors --run [0-9a-f-]{36}/);
  });

  it('SHEET_SOURCE is the default source; --only syncs just the listed buyers and warns about unknown ones', async () => {
    const file = csv([HEADER, row('001'), row('002'), row('003')]);
    const r = await runCli(['sync', '--only', '002, 009', '--json'], { ...env(), SHEET_SOURCE: file });
    expect(r.code).toBe(1); // 009 was asked for and is not on the sheet: a problem found
    expect(JSON.parse(r.stdout)).toMatchObject({ total_rows: 1, inserted: 1 });
    expect(r.stderr).toContain('warning: not on the sheet: 009');
    expect((await db.pool.query(`select buyer_number from buyers`)).rows).toEqual([{ buyer_number: '002' }]);
  });

  it.each([
    [
      'a missing required header',
      () => csv([HEADER.filter((h) => h !== 'Phone'), ['1']]),
      /the sheet has no "Phone" column/,
    ],
    ['a duplicated header', () => csv([[...HEADER, 'NAME'], ['1']]), /header "Name" appears 2 times/],
    [
      'a missing file',
      () => path.join(dir, 'absent.csv'),
      /cannot read the sheet export ".*absent\.csv": no such file/,
    ],
    ['an empty file', () => csv([]), /row 1 of the sheet is empty/],
    [
      `Excel's "Unicode text" (UTF-16LE with its mark, tabs, CR LF)`,
      () => {
        const f = path.join(dir, `unicode-text-${n++}.txt`);
        const text = [HEADER, row('001', { 1: '山本 健一' })].map((r) => r.join('\t')).join('\r\n') + '\r\n';
        writeFileSync(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
        return f;
      },
      /row 1 holds the mapping's headers separated by tabs, not commas/,
    ],
  ])(
    '%s: exit 3, one line naming it, nothing written; the refused run is recorded with its reason',
    async (_, make, message) => {
      const r = await runCli(['sync', '--source', make(), '--json'], env());
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(await count('buyers')).toBe(0);
      const { rows } = await db.pool.query(`select status, failure, total_rows, error_message from sync_runs`);
      expect(rows).toEqual([
        {
          status: 'failed',
          failure: 'sheet',
          total_rows: 0,
          error_message: expect.stringMatching(/^sync refused, nothing read or written: /),
        },
      ]);
      expect(rows[0].error_message).toMatch(message);
      // `errors` shows it too: a run-level entry, no row.
      expect((await db.pool.query(`select row_number, buyer_number, retryable from sync_error_log`)).rows).toEqual([
        { row_number: null, buyer_number: null, retryable: false },
      ]);
    },
  );

  it('a sheet whose row 1 is not the header: exit 3, and no cell of it is repeated', async () => {
    const r = await runCli(
      ['sync', '--source', csv([row('001', { 1: '秘密 太郎', 3: 'secret@example.jp' }), row('002')])],
      env(),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /the sheet has no .* columns \(required by the column mapping; row 1 has \d+ cells, 0 of them known headers: is row 1 the header row/,
    );
    expect(r.stderr).not.toMatch(/秘密|secret@/);
  });

  it('a database that is not migrated: exit 3, saying so', async () => {
    const fresh = `${db.name}_empty`;
    await db.pool.query(`create database "${fresh}"`);
    try {
      const r = await runCli(['sync', '--source', csv([HEADER, row('1')])], {
        ...env(),
        DATABASE_URL: db.url.replace(db.name, fresh),
      });
      expect(r.code).toBe(3);
      const pending = readdirSync(path.join(projectRoot, 'db', 'migrations')).filter((f) => f.endsWith('.sql')).length;
      expect(r.stderr.trim()).toBe(
        `buyer-sync: the database is not migrated (${pending} pending: 001_legacy_buyers.sql, 050_buyers_text_columns.sql, 051_sync_bookkeeping_tables.sql, …); run \`buyer-sync migrate\` first`,
      );
    } finally {
      await db.pool.query(`drop database if exists "${fresh}" with (force)`);
    }
  });

  it('an unknown header is a warning (schema drift made visible), not a failure', async () => {
    const r = await runCli(
      [
        'sync',
        '--source',
        csv([
          [...HEADER, 'Referrer'],
          [...row('1'), 'a friend'],
        ]),
      ],
      env(),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: the sheet has columns the mapping does not know (ignored): "Referrer"');
  });

  it('refuses while the schema check fails: exit 3 naming table and column', async () => {
    await db.pool.query(`alter table buyers add column referrer varchar(50)`);
    try {
      const r = await runCli(['sync', '--source', csv([HEADER, row('1')])], env());
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('sync refused, nothing written: buyers.referrer is character varying(50)');
      expect(await count('buyers')).toBe(0);
      expect((await db.pool.query(`select failure, error_message from sync_runs`)).rows).toEqual([
        {
          failure: 'blocked',
          error_message: expect.stringContaining('nothing read or written: buyers.referrer is character varying(50)'),
        },
      ]);
    } finally {
      await db.pool.query(`alter table buyers drop column referrer`);
    }
  });

  it.each([
    [['sync', '--batch-size', '0']],
    [['sync', '--only', ' , ']],
    [['errors', '--type', 'bogus']],
    [['errors', '--since', 'yesterday']],
  ])('usage error %j: exit 2', async (args) => {
    const r = await runCli(args, env());
    expect(r.code).toBe(2);
  });
});

describe('missing', () => {
  it('--json: the set differences in both directions; exit 1 while buyers are missing', async () => {
    await db.pool.query(`insert into buyers (buyer_number) values ('001'), ('old')`);
    const file = csv([HEADER, row('001'), row('002'), row('002'), row('003', { 5: 'bad' })]);
    const r = await runCli(['missing', '--source', file, '--json'], env());
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      spreadsheet_count: 3,
      database_count: 2,
      missing: ['002', '003'],
      extra: ['old'],
    });
    const human = await runCli(['missing', '--source', file], env());
    expect(human.stdout).toContain('Missing: 2 on the sheet but not in the database');
    expect(human.stdout).toContain('002 (sheet row 3)');
    expect(human.stdout).toContain('Extra: 1 in the database but no longer on the sheet (kept, never deleted)');
  });

  it.each(['missing', 'health'])(
    '%s says so when row 1 is empty or tab-separated, as a sync does (exit 3)',
    async (command) => {
      const empty = await runCli([command, '--source', csv([])], env());
      expect(empty.code).toBe(3);
      expect(empty.stderr).toMatch(/row 1 of the sheet is empty/);
      const tabbed = path.join(dir, `tabbed-${n++}.txt`);
      writeFileSync(
        tabbed,
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER.join('\t')}\r\n001\r\n`, 'utf16le')]),
      );
      const tabs = await runCli([command, '--source', tabbed], env());
      expect(tabs.code).toBe(3);
      expect(tabs.stderr).toMatch(/row 1 holds the mapping's headers separated by tabs, not commas/);
    },
  );

  it('a reader that closes the pipe early (`missing | head -1`) ends the output, not the exit code: still 1', async () => {
    await db.pool.query(`insert into buyers (buyer_number) values ('001')`);
    const p = spawnCli(['missing', '--source', csv([HEADER, row('001'), row('002')])], env());
    p.child.stdout!.destroy(); // the reader is gone before the result is written: the write fails with EPIPE
    const r = await p.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
  });

  it('exit 0 when nothing is missing', async () => {
    await db.pool.query(`insert into buyers (buyer_number) values ('001')`);
    const r = await runCli(['missing', '--source', csv([HEADER, row('001')]), '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ spreadsheet_count: 1, database_count: 1, missing: [], extra: [] });
  });
});

describe('errors', () => {
  it('--json lists entries in the contract shape, filtered by --type and --buyer', async () => {
    await runCli(
      ['sync', '--source', csv([HEADER, row('001', { 5: 'x' }), row('', { 1: 'y' }), row('003', { 9: '#REF!' })])],
      env(),
    );
    const all = JSON.parse((await runCli(['errors', '--json'], env())).stdout);
    expect(all.errors).toHaveLength(3);
    for (const e of all.errors)
      expect(Object.keys(e).sort()).toEqual([
        'buyer_number',
        'created_at',
        'error_message',
        'error_type',
        'retryable',
        'row_number',
      ]);
    const typed = JSON.parse((await runCli(['errors', '--type', 'constraint_violation', '--json'], env())).stdout);
    expect(typed.errors).toEqual([
      expect.objectContaining({
        buyer_number: null,
        row_number: 3,
        error_type: 'constraint_violation',
        retryable: false,
      }),
    ]);
    const buyer = JSON.parse((await runCli(['errors', '--buyer', '003', '--json'], env())).stdout);
    expect(buyer.errors).toEqual([
      expect.objectContaining({ row_number: 4, error_type: 'data_type', retryable: true }),
    ]);
    const future = JSON.parse((await runCli(['errors', '--since', '2999-01-01', '--json'], env())).stdout);
    expect(future.errors).toEqual([]);
    const past = JSON.parse((await runCli(['errors', '--until', '2000-01-01T00:00:00Z', '--json'], env())).stdout);
    expect(past.errors).toEqual([]);
  });
});

describe('the sample sheet and npm start', () => {
  it('is realistic: ~4,000 buyers, hundreds of values over 50 characters, Japanese text, broken rows', () => {
    const text = readFileSync(SAMPLE_SHEET, 'utf8');
    const lines = text.split('\r\n');
    expect(lines.length).toBeGreaterThan(4000);
    const long = lines.filter((l) => l.split(',').some((c) => [...c.replace(/^"|"$/g, '')].length > 50));
    expect(long.length).toBeGreaterThan(300);
    expect(text).toMatch(/東京都/);
    expect(text).toContain('#REF!');
  });

  it('`start` (npm start) migrates, enqueues a first sync of the sample sheet, serves it, and stops with exit 0 on SIGTERM', async () => {
    const p = spawnCli(['start'], { ...env(), SYNC_CRON: '0 0 1 1 *' });
    await waitFor(
      'the first sync',
      async () => (await db.pool.query(`select 1 from sync_runs where status = 'succeeded'`)).rowCount === 1,
      60_000,
    );
    await waitFor('its line in the log', async () =>
      /sync run [0-9a-f-]{36} \(full\) of "<file>": 4,155 rows read: 4,107 inserted/.test(p.output().stdout),
    );
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/enqueued a first sync of the sample sheet/);
    expect(r.stdout).toMatch(/worker running/);
    expect(r.stdout).toMatch(/stopped\n$/);
    // The incident's buyers, the ones with values over 50 characters, are all in.
    const { rows } = await db.pool.query(
      `select count(*)::int as n from buyers where greatest(length(name), length(email), length(address), length(notes)) > 50`,
    );
    expect(rows[0].n).toBeGreaterThan(300);
  });
});

describe('retry', () => {
  it('--json prints the contract shape; exit 0 when nothing failed, 1 when some did; a permanent failure is delivered to ALERT_WEBHOOK_URL before it exits', async () => {
    const { createServer } = await import('node:http');
    const received: unknown[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const webhook = `http://127.0.0.1:${(hook.address() as { port: number }).port}/alerts`;
    try {
      const file = csv([HEADER, row('R1', { 1: '秘密の名前', 5: 'someday' }), row('R2')]);
      expect((await runCli(['sync', '--source', file], env())).code).toBe(1);
      const nothing = await runCli(['retry', '--json'], env());
      expect(nothing.code).toBe(0);
      expect(JSON.parse(nothing.stdout)).toEqual({ processed: 0, succeeded: 0, failed: 0, permanently_failed: 0 });
      for (const expected of [
        { processed: 1, succeeded: 0, failed: 1, permanently_failed: 0 },
        { processed: 1, succeeded: 0, failed: 1, permanently_failed: 0 },
        { processed: 1, succeeded: 0, failed: 0, permanently_failed: 1 },
      ]) {
        await db.pool.query(
          `update retry_queue set next_retry_at = now() - interval '1 second' where status = 'pending'`,
        );
        const r = await runCli(['retry', '--json'], { ...env(), ALERT_WEBHOOK_URL: webhook });
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout)).toEqual(expected);
      }
      expect(received).toHaveLength(1);
      const alert = received[0] as {
        type: string;
        severity: string;
        message: string;
        details: Record<string, unknown>;
        text: string;
      };
      expect(alert).toMatchObject({
        type: 'permanent_failure',
        severity: 'critical',
        details: { buyer_number: 'R1', attempts: 4, error_type: 'data_type' },
      });
      expect(alert.text).toMatch(/^\[critical\] permanent_failure: buyer R1 could not be synced after 4 attempt\(s\)/);
      expect(JSON.stringify(alert)).not.toContain('秘密');
      // The sync (without a webhook) raised high_error_rate, recorded only; retry delivered what it raised itself.
      expect(
        (await db.pool.query(`select type, delivered_at is not null as d from sync_alerts order by created_at`)).rows,
      ).toEqual([
        { type: 'high_error_rate', d: false },
        { type: 'permanent_failure', d: true },
      ]);
      const human = await runCli(['retry'], env());
      expect(human.stdout).toContain('Retry round: nothing is due.');
    } finally {
      hook.close();
    }
  });

  it('a webhook that does not answer leaves the alert pending and says so; the command still exits with its own code', async () => {
    const { createServer } = await import('node:net');
    const closed = createServer();
    const port = await new Promise<number>((r) =>
      closed.listen(0, '127.0.0.1', () => r((closed.address() as { port: number }).port)),
    );
    await new Promise((r) => closed.close(r));
    // Every row fails: the run raises high_error_rate (and missing_buyers stays under its threshold).
    const file = csv([HEADER, row('W1', { 5: 'someday' }), row('W2', { 5: 'later' })]);
    const r = await runCli(['sync', '--source', file, '--json'], {
      ...env(),
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/alerts`,
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).failed).toBe(2);
    expect(r.stderr).toMatch(
      /alert high_error_rate \([0-9a-f-]{36}\) not delivered to ALERT_WEBHOOK_URL: ECONNREFUSED; the worker \(buyer-sync serve\) tries again/,
    );
    expect(
      (await db.pool.query(`select type, delivered_at, delivery_attempts, delivery_error from sync_alerts`)).rows,
    ).toEqual([{ type: 'high_error_rate', delivered_at: null, delivery_attempts: 1, delivery_error: 'ECONNREFUSED' }]);
  });
});
