/**
 * One buyer, however the key is spelled (issue 15, item 4): buyer numbers
 * compare by their fold (src/sync/lookalikes.ts, SQL buyer_sync.fold_key),
 * against the database's buyers as well as within the sheet. Real
 * PostgreSQL, the real engine, and the CLI as users run it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { evaluateHealth } from '../src/monitor/health.ts';
import { HEADER } from '../src/sample/generate.ts';
import { ArraySheetSource } from '../src/sheet/array-source.ts';
import { syncBuyers } from '../src/sync/engine.ts';
import { DROPPED_RANGES, foldKey, TRIMMED } from '../src/sync/lookalikes.ts';
import type { SyncMode } from '../src/sync/types.ts';
import { verifyIntegrity } from '../src/verify/checker.ts';
import { reportJson } from '../src/verify/report.ts';
import { resetSyncState, runCli, useTestDatabase, writeCsv } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-keys-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => resetSyncState(db.pool));

const row = (key: string, name = 'a buyer') => HEADER.map((_, i) => (i === 0 ? key : i === 1 ? name : ''));
const sync = (rows: string[][], mode: SyncMode = 'full', keys: string[] | null = null, warnings: string[] = []) =>
  syncBuyers(db.pool, {
    mode,
    keys,
    source: new ArraySheetSource(HEADER, rows, 'memory'),
    mapping,
    warn: (w) => warnings.push(w),
  });
const buyers = async () =>
  (
    await db.pool.query<{ b: string; name: string | null }>(
      `select buyer_number as b, name from buyers order by buyer_number collate "C"`,
    )
  ).rows;
const errors = async () =>
  (
    await db.pool.query<{
      buyer_number: string | null;
      row_number: number;
      error_type: string;
      retryable: boolean;
      error_message: string;
    }>(
      `select buyer_number, row_number, error_type, retryable, error_message from sync_error_log order by created_at, row_number`,
    )
  ).rows;
const retryQueue = async () => Number((await db.pool.query(`select count(*) from retry_queue`)).rows[0].count);

function codePoints(ranges: readonly (readonly [number, number])[]): number[] {
  return ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
}

describe('the fold, in JavaScript and in SQL', () => {
  it('drops every Cf and Default_Ignorable code point (as this Node knows them), and nothing the list does not name', () => {
    const dropped = new Set(codePoints(DROPPED_RANGES));
    const cf = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (cf.test(String.fromCodePoint(cp))) expect(dropped.has(cp), `U+${cp.toString(16)}`).toBe(true);
    }
    for (const cp of dropped) expect(foldKey(`00${String.fromCodePoint(cp)}01`)).toBe('0001');
  });

  it('buyer_sync.fold_key agrees with foldKey on every dropped code point, every trimmed space and a sample of NFKC changes', async () => {
    const samples: string[] = [];
    for (const cp of codePoints(DROPPED_RANGES)) {
      const ch = String.fromCodePoint(cp);
      samples.push(`00${ch}01`, ch, `${ch}A${ch}`);
    }
    for (const cp of TRIMMED) {
      const ch = String.fromCodePoint(cp);
      samples.push(`\u200b${ch}01${ch}\u200b`, `0${ch}1`);
    }
    // Full-width ASCII (digits, letters, punctuation), half-width katakana, the ideographic space, and other compatibility forms.
    for (let cp = 0xff01; cp <= 0xff9f; cp++)
      samples.push(`\u200b${String.fromCodePoint(cp)}`, `${String.fromCodePoint(cp)}-1`);
    samples.push(
      '\u3000',
      '０００００１',
      'ｶﾞｷﾞｸﾞ',
      'ﾊﾟﾋﾟ',
      '①②',
      '㈱東京',
      'ﬁ',
      'Ⅻ',
      '㍻',
      'e\u200b\u0301',
      'Jose\u0301',
      '\u3000\u200b000001\u3000',
      'B\u30007',
      '👨\u200d👩',
      '🏠\ufe0f-1',
      'ａ\u00adｂ',
    );
    const { rows } = await db.pool.query<{ k: string; f: string }>(
      `select k, buyer_sync.fold_key(k) as f from unnest($1::text[]) k`,
      [samples],
    );
    const disagree = rows
      .filter((r) => r.f !== foldKey(r.k))
      .map((r) => ({ key: [...r.k].map((c) => c.codePointAt(0)!.toString(16)), sql: r.f, js: foldKey(r.k) }));
    expect(disagree).toEqual([]);
    expect(rows).toHaveLength(samples.length);
    expect(foldKey('０００００１')).toBe('000001');
    expect(foldKey('\u3000\u200b000001\u3000')).toBe('000001');
    expect(foldKey('e\u200b\u0301')).toBe('\u00e9');
    expect(foldKey('\u200b\u2060\u00ad')).toBe('');
    expect(foldKey(' 000001')).toBe('000001');
  });
});

/** Spellings of 000001 that are not 000001 (and survive the cell's trim()). */
const VARIANTS: [string, string][] = [
  ['full-width digits', '０００００１'],
  ['a zero-width space', '000001\u200b'],
  ['a word joiner', '000\u2060001'],
  ['a soft hyphen', '000\u00ad001'],
  ['a left-to-right mark', '\u200e000001'],
  ['a BOM inside', '000\ufeff001'],
  ['an ideographic space behind an invisible character', '000001\u3000\u200b'],
];

describe('a buyer number written another way than a stored buyer', () => {
  it.each(VARIANTS)(
    '%s: fails as constraint_violation naming 000001, never inserted, never queued',
    async (_, variant) => {
      await sync([row('000001', 'first')]);
      const r = await sync([row(variant, 'second')]);
      expect(r).toMatchObject({ totalRows: 1, inserted: 0, updated: 0, failed: 1 });
      expect(r.errorsByType.constraint_violation).toBe(1);
      expect(await buyers()).toEqual([{ b: '000001', name: 'first' }]);
      const [e] = await errors();
      expect(e).toMatchObject({
        buyer_number: variant,
        row_number: 2,
        error_type: 'constraint_violation',
        retryable: false,
      });
      expect(e!.error_message).toContain('but buyer 000001 is');
      expect(e!.error_message).not.toContain('second');
      expect(await retryQueue()).toBe(0);
    },
  );

  it('the exact spelling still syncs next to a look-alike; the warning names the cause; an invalid look-alike is still a look-alike', async () => {
    await sync([row('000001', 'first')]);
    const warnings: string[] = [];
    const bad = row('０００００１', 'x');
    bad[5] = 'someday'; // an invalid date: the look-alike is what the row is reported for, and it is not queued
    const r = await sync([row('０００００１', 'second'), row('000001', 'renamed'), bad], 'full', null, warnings);
    expect(r).toMatchObject({ totalRows: 3, updated: 1, failed: 2 });
    expect(r.errorsByType).toMatchObject({ constraint_violation: 2, data_type: 0 });
    expect(await buyers()).toEqual([{ b: '000001', name: 'renamed' }]);
    expect(await retryQueue()).toBe(0);
    expect(warnings.join('\n')).toMatch(
      /1 buyer number\(s\) on the sheet are a buyer's number in the database written another way/,
    );
  });

  it('surrounding ideographic spaces alone are the cell trim the contract already makes: that row is 000001', async () => {
    await sync([row('000001', 'first')]);
    const r = await sync([row('\u3000000001\u3000', 'renamed')]);
    expect(r).toMatchObject({ updated: 1, failed: 0 });
    expect(await buyers()).toEqual([{ b: '000001', name: 'renamed' }]);
  });

  it('the other way round: a stored full-width number makes a sheet 000001 fail, naming it', async () => {
    await db.pool.query(`insert into buyers (buyer_number, name) values ('０００００１', 'stored')`);
    const r = await sync([row('000001', 'new'), row('０００００１', 'same')]);
    expect(r).toMatchObject({ updated: 1, inserted: 0, failed: 1 });
    expect(await buyers()).toEqual([{ b: '０００００１', name: 'same' }]);
    expect((await errors())[0]!.error_message).toContain('but buyer ０００００１ is');
  });

  it('--only and retry judge a listed look-alike as a full run does', async () => {
    await sync([row('000001', 'first'), row('000002', 'two')]);
    const only = await sync([row('000001', 'first'), row('０００００１', 'second'), row('000002', 'two!')], 'only', [
      '０００００１',
      '000002',
    ]);
    expect(only).toMatchObject({ updated: 1, inserted: 0, failed: 1 });
    const retry = await sync([row('000001', 'first'), row('000001\u200b', 'second')], 'retry', ['000001\u200b']);
    expect(retry).toMatchObject({ inserted: 0, failed: 1 });
    expect(retry.errorsByType.constraint_violation).toBe(1);
    expect((await buyers()).map((b) => b.b)).toEqual(['000001', '000002']);
    expect((await errors()).map((e) => e.error_type)).toEqual(['constraint_violation', 'constraint_violation']);
    expect(await retryQueue()).toBe(0);
  });

  it('within the sheet: a later look-alike row fails naming the first (invisible characters count)', async () => {
    const r = await sync([row('000007'), row('000\u2060007')]);
    expect(r).toMatchObject({ inserted: 1, failed: 1 });
    expect((await errors())[0]!.error_message).toMatch(
      /buyer number 000\\u\{2060\}007 is the same as 000007 on row 2 once Unicode-normalized/,
    );
  });
});

describe('a buyer number of nothing but invisible characters', () => {
  it('is no buyer number: constraint_violation with buyer_number NULL and the row; blank when the row has nothing else', async () => {
    const r = await sync([row('\u200b', 'someone'), row('\u2060\u00ad\u3000\u200b', ''), row('000001')]);
    expect(r).toMatchObject({ totalRows: 3, blankRows: 1, inserted: 1, failed: 1 });
    expect(await buyers()).toEqual([{ b: '000001', name: 'a buyer' }]);
    const [e] = await errors();
    expect(e).toMatchObject({
      buyer_number: null,
      row_number: 2,
      error_type: 'constraint_violation',
      retryable: false,
    });
    expect(e!.error_message).toContain('holds only invisible characters');
  });
});

describe('look-alikes already in the database', () => {
  beforeEach(async () => {
    await sync([row('000001'), row('000002')]);
    await db.pool.query(`insert into buyers (buyer_number) values ('000001\u200b'), ('０００００１'), ('\u2060')`);
  });

  it('buyer_sync.lookalike_buyers lists each group', async () => {
    const { rows } = await db.pool.query(
      `select folded_key, buyer_numbers, spellings from buyer_sync.lookalike_buyers order by folded_key`,
    );
    expect(rows).toEqual([
      { folded_key: '', buyer_numbers: ['\u2060'], spellings: 1 },
      { folded_key: '000001', buyer_numbers: ['000001', '000001\u200b', '０００００１'], spellings: 3 },
    ]);
  });

  it('verify fails and names them; health is unhealthy with an issue each group', async () => {
    const report = await verifyIntegrity(db.pool, {
      source: new ArraySheetSource(HEADER, [row('000001'), row('000002')], 'memory'),
      mapping,
      sample: null,
    });
    expect(report.passed).toBe(false);
    expect(report.completeness.complete).toBe(true);
    expect(report.summary).toContain('2 groups of look-alike buyer numbers in the database');
    expect(report.summary).toContain('000001\\u{200b}');
    expect(reportJson(report).lookalikes).toHaveLength(2);
    const health = await evaluateHealth(db.pool);
    expect(health.healthy).toBe(false);
    const issues = health.issues.filter((i) => i.includes('buyer_sync.lookalike_buyers'));
    expect(issues).toHaveLength(2);
    expect(issues.join('\n')).toContain(
      'buyer numbers 000001, 000001\\u{200b} and ０００００１ in the database are one number written 3 ways',
    );
    expect(issues.join('\n')).toContain('buyer number \\u{2060} in the database is made only of invisible characters');
  });
});

describe('through the CLI', () => {
  const env = () => ({ DATABASE_URL: db.url, SHEET_SOURCE: undefined });

  it('sync after a synced 000001: the full-width row fails naming 000001; errors, verify and health say so', async () => {
    const first = writeCsv(dir, [HEADER, row('000001')]);
    const r0 = await runCli(['sync', '--source', first, '--json'], env());
    expect(r0.stderr).toBe('');
    expect(r0.code).toBe(0);
    const second = writeCsv(dir, [HEADER, row('000001'), row('０００００１', 'again'), row('000\u200b001', 'again')]);
    const r = await runCli(['sync', '--source', second, '--json'], env());
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      inserted: 0,
      unchanged: 1,
      failed: 2,
      errors_by_type: { constraint_violation: 2 },
      retry_queue_size: 0,
    });
    expect(r.stderr).toContain(
      "2 buyer number(s) on the sheet are a buyer's number in the database written another way",
    );
    const e = await runCli(['errors', '--type', 'constraint_violation', '--json'], env());
    const logged = JSON.parse(e.stdout).errors as { buyer_number: string; error_message: string; retryable: boolean }[];
    expect(logged.map((x) => x.buyer_number).sort()).toEqual(['000\u200b001', '０００００１'].sort());
    for (const x of logged) expect(x.error_message).toContain('but buyer 000001 is');
    expect((await buyers()).map((b) => b.b)).toEqual(['000001']);

    await db.pool.query(`insert into buyers (buyer_number) values ('０００００１')`);
    const v = await runCli(['verify', '--source', first, '--json'], env());
    expect(v.code).toBe(1);
    const vj = JSON.parse(v.stdout);
    expect(vj.passed).toBe(false);
    expect(vj.summary).toContain('look-alike buyer numbers in the database');
    expect(Object.keys(vj.completeness)).toEqual(
      expect.arrayContaining(['complete', 'missing_count', 'missing_buyer_numbers']),
    );
    const h = await runCli(['health', '--source', first, '--json'], env());
    expect(h.code).toBe(1);
    const hj = JSON.parse(h.stdout);
    expect(Object.keys(hj).sort()).toEqual([
      'error_rate',
      'healthy',
      'issues',
      'last_sync_time',
      'missing_count',
      'retry_queue_size',
    ]);
    expect(hj.healthy).toBe(false);
    expect(hj.issues).toContainEqual(
      expect.stringContaining('buyer numbers 000001 and ０００００１ in the database are one number written 2 ways'),
    );
  });

  it('a key of only a zero-width space is "no buyer number"', async () => {
    const file = writeCsv(dir, [HEADER, row('\u200b', 'someone'), row('000003')]);
    const r = await runCli(['sync', '--source', file, '--json'], env());
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ inserted: 1, failed: 1, errors_by_type: { constraint_violation: 1 } });
    expect((await buyers()).map((b) => b.b)).toEqual(['000003']);
    expect((await errors())[0]).toMatchObject({ buyer_number: null, row_number: 2 });
  });
});
