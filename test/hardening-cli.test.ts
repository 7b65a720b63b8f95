/**
 * Real-world files through the command line, as users run it: each case a
 * hostile user found where a sync lost, garbled or hid something, or stopped
 * without a word. Every one must now sync exactly, or be refused loudly
 * (exit 3, nothing written), and say so in one safe line.
 */
import iconv from 'iconv-lite';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { HEADER } from '../src/sample/generate.ts';
import { SAMPLE_SHEET } from '../src/sheet/open.ts';
import {
  recordedRuns,
  resetSyncState,
  runCli,
  slowWrites,
  spawnCli,
  useTestDatabase,
  waitUntilWriting,
} from './helpers.ts';

const db = useTestDatabase();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-hard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => resetSyncState(db.pool));

const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: undefined,
  SHEET_ENCODING: undefined,
  ...extra,
});
let n = 0;
function save(content: string | Buffer): string {
  const f = path.join(dir, `sheet-${n++}.csv`);
  writeFileSync(f, content);
  return f;
}
const cell = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
const line = (cells: string[]) => cells.map(cell).join(',');
const row = (key: string, over: Record<number, string> = {}) => HEADER.map((_, i) => (i === 0 ? key : (over[i] ?? '')));
const count = async (table: string) => Number((await db.pool.query(`select count(*) from ${table}`)).rows[0].count);
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe('records, not lines', () => {
  it('mixed line endings: a CR LF header over LF rows syncs all 50 rows, and `missing` agrees', async () => {
    const rows = Array.from({ length: 50 }, (_, i) =>
      line(row(String(i).padStart(4, '0'), { 1: `名前${i}`, 13: `note ${i}` })),
    );
    const file = save(`${line(HEADER)}\r\n${rows.join('\n')}\n`);
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ total_rows: 50, inserted: 50, failed: 0, blank_rows: 0 });
    expect((await db.pool.query(`select notes from buyers where buyer_number = '0000'`)).rows).toEqual([
      { notes: 'note 0' },
    ]);
    const m = await runCli(['missing', '--source', file, '--json'], env());
    expect(json(m.stdout)).toEqual({ spreadsheet_count: 50, database_count: 50, missing: [], extra: [] });
  });

  it('a CR-only file whose header is wider than a 64 KB read piece syncs every row and prints no data cell', async () => {
    const extra = Array.from({ length: 4000 }, (_, i) => `Extra column ${i}`);
    const rows = Array.from({ length: 30 }, (_, i) =>
      line([...row(`K${i}`, { 1: `秘密の名前${i}`, 3: `secret${i}@example.jp` }), ...extra.map(() => '秘密のメモ')]),
    );
    const file = save([line([...HEADER, ...extra]), ...rows].join('\r'));
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ total_rows: 30, inserted: 30, blank_rows: 0 });
    expect(r.stderr).not.toMatch(/秘密|secret/);
    expect(r.stderr).toContain('warning: the sheet has columns the mapping does not know (ignored): "Extra column 0"');
    expect(r.stderr).toContain('and 3990 more');
  });

  it('a CR LF inside a quoted cell arrives as it was; a CR-only file has no phantom blank row', async () => {
    const file = save(
      `${line(HEADER)}\r${line(row('A', { 13: 'line one\r\nline two\rthree\nfour' }))}\r${line(row('B'))}\r`,
    );
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(json(r.stdout)).toMatchObject({ total_rows: 2, inserted: 2, blank_rows: 0 });
    expect((await db.pool.query(`select notes from buyers where buyer_number = 'A'`)).rows[0].notes).toBe(
      'line one\r\nline two\rthree\nfour',
    );
  });

  it('a quote that is never closed refuses the file (exit 3), naming the row, nothing written', async () => {
    const file = save(`${line(HEADER)}\n${line(row('A'))}\nB,"never closed\n${line(row('C'))}\n`);
    const r = await runCli(['sync', '--source', file], env());
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toMatch(
      /is not valid CSV: row 3: a quoted cell \(column B\) is never closed: the file ends inside it; nothing was written$/,
    );
    expect(await count('buyers')).toBe(0);
  });
});

describe('encodings, never guessed silently', () => {
  it("the sample sheet saved as CP932 (Excel's CSV on a Japanese Windows) over an already-synced database changes nothing", async () => {
    const first = await runCli(['sync', '--source', SAMPLE_SHEET, '--json'], env());
    const utf8 = json(first.stdout);
    const cp932 = save(iconv.encode(readFileSync(SAMPLE_SHEET, 'utf8'), 'cp932'));
    const r = await runCli(['sync', '--source', cp932, '--json'], env());
    expect(json(r.stdout)).toMatchObject({ inserted: 0, updated: 0, unchanged: utf8.inserted, failed: utf8.failed });
    const human = await runCli(['sync', '--source', cp932], env());
    expect(human.stdout).toContain(`source:   ${cp932} (Shift_JIS, detected)`);
    const { rows } = await db.pool.query(`select encoding from sync_runs order by started_at`);
    expect(rows.map((x) => x.encoding)).toEqual(['utf-8', 'shift_jis', 'shift_jis']);
  });

  it('a file plainly in another encoding than --encoding says is refused (exit 3), naming the encoding to pass', async () => {
    const cp932 = save(iconv.encode(`${line(HEADER)}\r\n${line(row('1', { 1: '佐藤 さくら' }))}\r\n`, 'cp932'));
    const r = await runCli(['sync', '--source', cp932, '--encoding', 'utf-8'], env());
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /is not valid UTF-8 as --encoding says .* but it is valid Shift_JIS: pass --encoding shift_jis/,
    );
    expect(await recordedRuns(db.pool)).toEqual([
      { status: 'failed', failure: 'sheet', error_type: 'unknown', total_rows: 0, inserted: 0 },
    ]);
    await db.pool.query('delete from sync_error_log; delete from sync_runs');
    const ok = await runCli(['sync', '--source', cp932, '--json'], env({ SHEET_ENCODING: 'cp932' }));
    expect(json(ok.stdout)).toMatchObject({ inserted: 1 });
    expect((await db.pool.query(`select name from buyers`)).rows).toEqual([{ name: '佐藤 さくら' }]);
  });

  it('an invalid byte fails its row as data_type naming row and column, never as U+FFFD; a warning says how many', async () => {
    const good = Buffer.from(`${line(HEADER)}\n${line(row('1', { 1: '佐藤' }))}\n2,`);
    const file = save(
      Buffer.concat([
        good,
        Buffer.from([0xe4, 0xbd]),
        Buffer.from(`藤${','.repeat(HEADER.length - 2)}\n${line(row('3', { 1: '鈴木' }))}\n`),
      ]),
    );
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(1);
    expect(json(r.stdout)).toMatchObject({ inserted: 2, failed: 1, errors_by_type: { data_type: 1 } });
    expect(r.stderr).toContain(
      'warning: the sheet export has 1 byte sequence(s) that are not valid UTF-8 (the first on line 3); the rows holding them fail as data_type',
    );
    const { rows } = await db.pool.query(`select row_number, buyer_number, error_message from sync_error_log`);
    expect(rows).toEqual([
      {
        row_number: 3,
        buyer_number: '2',
        error_message: 'row 3: column "Name" (name) contains 1 byte sequence that is not valid UTF-8',
      },
    ]);
    expect((await db.pool.query(`select count(*)::int as n from buyers where name like '%\uFFFD%'`)).rows[0].n).toBe(0);
  });

  it('UTF-16 with a byte order mark (a "Unicode text" export) syncs exactly like UTF-8', async () => {
    const text = `${line(HEADER)}\r\n${line(row('1', { 1: '🏠 高橋', 5: '2024/3/5', 9: '¥35,000,000' }))}\r\n`;
    const r = await runCli(
      ['sync', '--source', save(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), '--json'],
      env(),
    );
    expect(json(r.stdout)).toMatchObject({ inserted: 1, failed: 0 });
    expect((await db.pool.query(`select name, inquiry_date::text, budget::text from buyers`)).rows).toEqual([
      { name: '🏠 高橋', inquiry_date: '2024-03-05', budget: '35000000' },
    ]);
  });

  it('in a CSV export a bare number in a date column is not a date (serial days come only from the Sheets API)', async () => {
    const r = await runCli(
      ['sync', '--source', save(`${line(HEADER)}\n${line(row('1', { 5: '2024' }))}\n`), '--json'],
      env(),
    );
    expect(json(r.stdout)).toMatchObject({ failed: 1, errors_by_type: { data_type: 1 } });
    expect((await db.pool.query(`select error_message from sync_error_log`)).rows[0].error_message).toContain(
      'is not a date (expected YYYY-MM-DD or YYYY/MM/DD;',
    );
  });
});

describe('whatever the database refuses fails its own row', () => {
  it('a 3,000-character buyer number fails its row (exit 1) on every run, never the run (exit 3)', async () => {
    const file = save(
      [line(HEADER), line(row('A')), line(row(`B${'7'.repeat(2999)}`, { 1: 'x' })), line(row('C'))].join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['sync', '--source', file, '--json'], env());
      expect(r.code).toBe(1);
      expect(json(r.stdout)).toMatchObject({
        inserted: i === 0 ? 2 : 0,
        unchanged: i === 0 ? 0 : 2,
        failed: 1,
        errors_by_type: { field_length: 1 },
      });
    }
    const errors = await runCli(['errors', '--type', 'field_length', '--json'], env());
    const listed = json(errors.stdout).errors as { row_number: number; error_message: string }[];
    expect(listed.map((e) => e.row_number)).toEqual([3, 3]);
    expect(listed[0]!.error_message).toContain('is 3,000 characters long; a buyer number may have at most 200');
  });

  it('the column mapping is refused before the sheet is read: one line naming the column and the fix', async () => {
    await db.pool.query(`alter table buyers drop constraint buyers_buyer_number_key`);
    try {
      const r = await runCli(['sync', '--source', path.join(dir, 'does-not-exist.csv')], env());
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(
        'buyers.buyer_number, the key, has no unique index of its own: add one with a migration',
      );
      expect(r.stderr).not.toContain('no such file');
    } finally {
      await db.pool.query(`alter table buyers add constraint buyers_buyer_number_key unique (buyer_number)`);
    }
    // Types that do not fit, in a mapping of the operator's own (BUYER_SYNC_MAPPING).
    const custom = path.join(dir, 'mapping.json');
    const mapping = JSON.parse(readFileSync(path.join(projectRoot, 'db', 'sheet-mapping.json'), 'utf8')) as {
      columns: { column: string; type: string }[];
    };
    for (const c of mapping.columns) if (c.column === 'next_follow_up') c.type = 'bigint';
    writeFileSync(custom, JSON.stringify(mapping));
    const typed = await runCli(
      ['sync', '--source', path.join(dir, 'does-not-exist.csv')],
      env({ BUYER_SYNC_MAPPING: custom }),
    );
    expect(typed.code).toBe(3);
    expect(typed.stderr.trim()).toMatch(
      /the column mapping .*mapping\.json does not fit the table: buyers\.next_follow_up is date, but the mapping reads header "Next Follow-up" as bigint: change the column's type with a migration, or the mapping's "type"$/,
    );
  });
});

describe('honest exits', () => {
  it('the connection terminated mid-sync: exit 3, one line, and sync_runs records the real reason', async () => {
    const undoSlowWrites = await slowWrites(db.pool, 0.02);
    try {
      const file = save([line(HEADER), ...Array.from({ length: 200 }, (_, i) => line(row(`S${i}`)))].join('\n'));
      const run = runCli(['sync', '--source', file, '--batch-size', '10'], env());
      // Once the run is under way: its session is the one writing rows.
      const writer = await waitUntilWriting(db.pool);
      const { rows: killed } = await db.pool.query(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity
          where pid = $1 and application_name = 'buyer-sync' and xact_start is not null`,
        [writer],
      );
      expect(killed.length).toBeGreaterThan(0);
      const r = await run;
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /^buyer-sync: sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: the database connection was lost \(57P01\); run the sync again$/m,
      );
      const { rows } = await db.pool.query(`select status, error_type, error_message from sync_runs`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'failed', error_type: 'transient' });
      expect(rows[0].error_message).toContain('the database connection was lost (57P01)');
      expect(await count('buyers')).toBe(0);
    } finally {
      await undoSlowWrites();
    }
  });
});

describe('honest exits when the process is told to stop', () => {
  it('SIGHUP (the terminal closed) mid-sync: exit 129, one line, the run rolled back and recorded as stopped', async () => {
    const undoSlowWrites = await slowWrites(db.pool, 0.02);
    try {
      const file = save([line(HEADER), ...Array.from({ length: 200 }, (_, i) => line(row(`H${i}`)))].join('\n'));
      const p = spawnCli(['sync', '--source', file, '--batch-size', '10'], env());
      await waitUntilWriting(db.pool);
      p.child.kill('SIGHUP');
      const r = await p.done;
      expect(r.code).toBe(129);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^buyer-sync: SIGHUP received: stopping/);
      expect(lines.slice(1)).toHaveLength(1);
      expect(lines[1]).toMatch(
        /^buyer-sync: sync run [0-9a-f-]{36} stopped after \d+ rows and wrote nothing: stopped: SIGHUP received$/,
      );
      expect((await db.pool.query(`select status, error_message from sync_runs`)).rows).toEqual([
        { status: 'failed', error_message: lines[1]!.replace('buyer-sync: ', '') },
      ]);
      expect(await count('buyers')).toBe(0);
    } finally {
      await undoSlowWrites();
    }
  });

  it('a result that cannot be written (a full disk) is a failure, never a silent exit 0', async () => {
    const { spawn } = await import('node:child_process');
    const { openSync, closeSync } = await import('node:fs');
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'buyer-sync.js'), 'errors', '--json'], {
        cwd: projectRoot,
        env: { ...process.env, DATABASE_URL: db.url },
        stdio: ['ignore', full, 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      expect(code).toBe(3);
      expect(stderr.trim()).toBe('buyer-sync: could not write the result to standard output (ENOSPC)');
    } finally {
      closeSync(full);
    }
  });
});

describe('honest exits before a run starts', () => {
  it('a connection lost during the checks before the run: exit 3, one line, never "a bug"', async () => {
    // Hold the schema check up: it reads buyer_sync_private.synced_tables, locked here.
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table buyer_sync_private.synced_tables in access exclusive mode');
      const run = runCli(['sync', '--source', SAMPLE_SHEET], env());
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const { rows } = await db.pool.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where datname = current_database() and application_name = 'buyer-sync' and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        );
        killed = rows.length;
      }
      expect(killed).toBeGreaterThan(0);
      const r = await run;
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toBe(
        'buyer-sync: the database connection was lost (57P01) before the command finished; run it again',
      );
      expect(r.stderr).not.toContain('bug');
    } finally {
      await holder.query('rollback');
      holder.release();
    }
  });
});

describe('safe output', () => {
  it('header text in warnings is escaped and capped: no forged log lines, no terminal escapes', async () => {
    const evil = 'Memo\nbuyer-sync: everything synced fine\u001b[2J\u202e';
    const file = save(`${line([...HEADER, evil, 'Dup', 'dup '])}\n${line([...row('1'), 'x', 'y', 'z'])}\n`);
    const r = await runCli(['sync', '--source', file], env());
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.every((l) => l.startsWith('buyer-sync: warning: '))).toBe(true);
    expect(r.stderr).toContain('"Memo\\nbuyer-sync: everything synced fine\\u{1b}… (44 characters)"');
    expect(r.stderr).not.toContain('\u001b');
    // Two unmapped columns with one header are a warning, not a refusal.
    expect(r.stderr).toContain('warning: unmapped headers that appear more than once (ignored too): "Dup"');
  });

  it('`errors --json` says when its list was cut: total and truncated', async () => {
    await runCli(
      [
        'sync',
        '--source',
        save([line(HEADER), ...Array.from({ length: 5 }, (_, i) => line(row(`E${i}`, { 5: 'someday' })))].join('\n')),
      ],
      env(),
    );
    const cut = json((await runCli(['errors', '--limit', '2', '--json'], env())).stdout);
    expect(cut).toMatchObject({ total: 5, truncated: true });
    expect(cut.errors).toHaveLength(2);
    const all = json((await runCli(['errors', '--json'], env())).stdout);
    expect(all).toMatchObject({ total: 5, truncated: false });
    const human = await runCli(['errors', '--limit', '2'], env());
    expect(human.stdout).toContain('2 shown of 5 (the newest; --limit for more)');
  });
});

describe('keys that look alike', () => {
  it('full-width and half-width buyer numbers are reported (exit 1), never two buyers without a word', async () => {
    const r = await runCli(
      ['sync', '--source', save([line(HEADER), line(row('000123')), line(row('０００１２３'))].join('\n')), '--json'],
      env(),
    );
    expect(r.code).toBe(1);
    expect(json(r.stdout)).toMatchObject({ inserted: 1, failed: 1, errors_by_type: { constraint_violation: 1 } });
    expect(r.stderr).toContain('warning: 1 buyer number(s) are written two ways');
    // Composed and decomposed: one name, two byte sequences.
    const accents = await runCli(
      [
        'sync',
        '--source',
        save([line(HEADER), line(row('Jos\u00e9-1')), line(row('Jose\u0301-1'))].join('\n')),
        '--json',
      ],
      env(),
    );
    expect(json(accents.stdout)).toMatchObject({ failed: 1, errors_by_type: { constraint_violation: 1 } });
  });
});

describe('huge cells', () => {
  it('a 20 MB cell syncs exactly', async () => {
    const note = '東京都世田谷区桜新町の物件メモ。'.repeat(440_000); // ~20 MB in UTF-8
    const file = save(`${line(HEADER)}\r\n${line(row('BIG', { 13: note }))}\r\n${line(row('SMALL'))}\r\n`);
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ inserted: 2 });
    const { rows } = await db.pool.query(
      `select md5(notes) as h, length(notes) as l from buyers where buyer_number = 'BIG'`,
    );
    expect(rows[0]).toEqual({ h: createHash('md5').update(note).digest('hex'), l: note.length });
  });

  it('rows of 5 MB each sync in bounded memory (a 256 MB heap, a 270 MB file)', async () => {
    const big = '商談メモ'.repeat(1_310_720); // 5 Mi characters, 15 MB of UTF-8
    const head = `${line(HEADER)}\n`;
    // 18 rows: a file larger than the heap, so only a sync that streams can finish.
    const body = Array.from({ length: 18 }, (_, i) => `${line(row(`R${i}`, { 13: `${i}${big}` }))}\n`).join('');
    const file = save(head + body);
    const r = await runCli(['sync', '--source', file, '--json'], env({ NODE_OPTIONS: '--max-old-space-size=256' }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ inserted: 18 });
    expect((await db.pool.query(`select count(*)::int as n from buyers where length(notes) > 5000000`)).rows[0].n).toBe(
      18,
    );
  });
});
