/**
 * The encoding matrix through the command line, over an already-synced
 * database: a UTF-8 sheet with Korean, Chinese (simplified and traditional),
 * accented Latin and Japanese buyers is synced; then the same buyers,
 * exported by Python's codecs in each legacy encoding they can be written in,
 * are synced again. Without --encoding each export is detected (and changes
 * nothing: 0 inserted, 0 updated) or refused (exit 3, the buyers untouched);
 * with the right --encoding each syncs exactly; a Japanese --encoding on a
 * Korean or Chinese export is refused, the buyers untouched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sync } from '../src/index.ts';
import { DEFAULT_MAPPING, HEADER } from '../src/sample/generate.ts';
import { CsvSheetSource } from '../src/sheet/csv/source.ts';
import { UserFacingError } from '../src/errors.ts';
import { ENCODINGS, type Encoding } from '../src/sheet/csv/encoding.ts';
import { readBuyers, runCli, useTestDatabase } from './helpers.ts';
import { CODECS, DETECTED, PEOPLE, pythonEncode } from './encodings.ts';

const db = useTestDatabase();
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-enccli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The mass-change guard is not under test here: a wrong reading must show as changed buyers, not as a refusal for their number.
const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: db.url,
  SHEET_SOURCE: undefined,
  SHEET_ENCODING: undefined,
  SYNC_MAX_CHANGED_PERCENT: '100',
  ...extra,
});
let n = 0;
function save(content: string | Buffer): string {
  const f = path.join(dir, `sheet-${n++}.csv`);
  writeFileSync(f, content);
  return f;
}

const cell = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
const csv = (rows: string[][]) => [HEADER, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';

/** A full-width sheet row: buyer number, name, address, notes, with an inquiry date and a budget. */
const row = ([key, name, address, notes]: string[], i: number) =>
  HEADER.map(
    (_, c) =>
      ({
        0: key!,
        1: name!,
        4: address!,
        5: `2024-0${(i % 9) + 1}-15`,
        9: String(30_000_000 + i * 1_000_000),
        13: notes!,
      })[c] ?? '',
  );

const ROWS = Object.fromEntries(
  Object.entries(PEOPLE).map(([lang, people]) => [lang, people.map((p, i) => row(p, i))]),
);

const cases: { lang: string; codec: string; right: Encoding; file: string }[] = [];
let synced: Map<string, (string | null)[]>;

beforeAll(async () => {
  const all = Object.values(ROWS).flat();
  const first = await runCli(['sync', '--source', save(csv(all)), '--json'], env());
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ inserted: all.length, failed: 0 });
  synced = await readBuyers(db.pool);
  const langs = Object.keys(ROWS);
  for (const [codec, right] of CODECS) {
    pythonEncode(
      codec,
      langs.map((l) => csv(ROWS[l]!)),
    ).forEach((bytes, i) => {
      if (bytes) cases.push({ lang: langs[i]!, codec, right, file: save(bytes) });
    });
  }
}, 60_000);

/** A sync of `file` in this process, answered as the command would: exit 0 with its JSON, or the error's own exit code. */
async function syncInProcess(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await sync(db.pool, { source: new CsvSheetSource(file), mapping: DEFAULT_MAPPING });
    return { code: 0, stdout: JSON.stringify(r), stderr: '' };
  } catch (err) {
    if (!(err instanceof UserFacingError)) throw err;
    return { code: err.exitCode, stdout: '', stderr: `buyer-sync: ${err.message}\n` };
  }
}

const summary = (stdout: string) => {
  const j = JSON.parse(stdout) as Record<string, number>;
  return { inserted: j.inserted, updated: j.updated, failed: j.failed };
};

describe('the encoding matrix over an already-synced database', () => {
  it('the synced sheet holds every language exactly', () => {
    expect(synced.get('B-K1')![1]).toBe('김민준');
    expect(synced.get('B-C1')![1]).toBe('王伟');
    expect(synced.get('B-T1')![1]).toBe('陳志明');
    expect(synced.get('B-L1')![1]).toBe('Renée Dupont');
    expect(synced.get('B-J1')![1]).toBe('佐藤 さくら');
  });

  it('without --encoding, each export is detected and changes nothing, or is refused with the buyers untouched', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    const outcomes: string[] = [];
    const typed = new Set<string>();
    for (const c of cases) {
      // Each language's first export through the command (its exit code and its line on stderr), the rest through
      // the engine it runs, in-process (a refusal is the error the command prints, with the exit code it carries).
      const r = typed.has(c.lang)
        ? await syncInProcess(c.file)
        : await runCli(['sync', '--source', c.file, '--json'], env());
      typed.add(c.lang);
      if (DETECTED[c.lang]!.includes(c.codec)) expect(r.code, `${c.lang} in ${c.codec}: ${r.stderr}`).toBe(0);
      if (r.code === 0) {
        expect(summary(r.stdout), `${c.lang} in ${c.codec}`).toEqual({ inserted: 0, updated: 0, failed: 0 });
        outcomes.push(`${c.lang}/${c.codec}: detected`);
      } else {
        expect(r.code, `${c.lang} in ${c.codec}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toMatch(/the sheet export .* nothing was written/);
        // A refusal suggests only the encoding the file is in, or none.
        for (const [, e] of r.stderr.matchAll(/--encoding ([\w-]+)/g))
          if ((ENCODINGS as readonly string[]).includes(e!)) expect(e).toBe(c.right);
        outcomes.push(`${c.lang}/${c.codec}: refused`);
      }
      expect(await readBuyers(db.pool)).toEqual(synced);
    }
    expect(typed.size).toBe(Object.keys(ROWS).length);
    expect(outcomes.filter((o) => o.endsWith('detected')).length).toBeGreaterThanOrEqual(12);
  }, 180_000);

  it('with the right --encoding, each export syncs exactly: nothing changes', async () => {
    // Each language once as a user types the flag; every export through the engine the command runs (in-process,
    // the flag's value as the command passes it on): a command costs half a second of CPU, and the matrix holds dozens of exports.
    const typed = new Set<string>();
    for (const c of cases) {
      if (!typed.has(c.lang)) {
        typed.add(c.lang);
        const r = await runCli(['sync', '--source', c.file, '--encoding', c.right, '--json'], env());
        expect(r.code, `${c.lang} in ${c.codec}: ${r.stderr}`).toBe(0);
        expect(summary(r.stdout), `${c.lang} in ${c.codec}`).toEqual({ inserted: 0, updated: 0, failed: 0 });
        continue;
      }
      const encoding = { encoding: c.right, from: '--encoding' };
      const r = await sync(db.pool, { source: new CsvSheetSource(c.file, { encoding }), mapping: DEFAULT_MAPPING });
      expect({ inserted: r.inserted, updated: r.updated, failed: r.failed }, `${c.lang} in ${c.codec}`).toEqual({
        inserted: 0,
        updated: 0,
        failed: 0,
      });
    }
    expect(typed.size).toBe(Object.keys(ROWS).length);
    expect(await readBuyers(db.pool)).toEqual(synced);
  }, 180_000);

  it('a Japanese --encoding (or SHEET_ENCODING) on a Korean or Chinese export is refused, naming the right one; the buyers untouched', async () => {
    for (const [lang, codec, right] of [
      ['korean', 'cp949', 'euc-kr'],
      ['simplified', 'gbk', 'gbk'],
      ['traditional', 'big5', 'big5'],
    ] as const) {
      const c = cases.find((x) => x.lang === lang && x.codec === codec)!;
      for (const wrong of ['shift_jis', 'euc-jp']) {
        const r = await runCli(['sync', '--source', c.file, '--json'], env({ SHEET_ENCODING: wrong }));
        expect(r.code, `${lang} as ${wrong}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toMatch(new RegExp(`pass --encoding ${right} `));
      }
    }
    expect(await readBuyers(db.pool)).toEqual(synced);
  }, 60_000);

  it('the run summary names the encoding and how it was chosen', async () => {
    const c = cases.find((x) => x.lang === 'korean' && x.codec === 'cp949')!;
    const r = await runCli(['sync', '--source', c.file], env());
    expect(r.stdout).toContain(`source:   ${c.file} (EUC-KR (CP949), detected)`);
  });
});

describe('the yen sign of the Japanese legacy encodings', () => {
  it('an EUC-JP export whose budget is written with the backslash form of ¥ (\\3,500,000) syncs the budget as a number', async () => {
    const budget = HEADER.indexOf('Budget');
    const cells = HEADER.map((_, c) =>
      c === 0 ? 'B-Y1' : c === 1 ? '鈴木 はなこ' : c === budget ? '\\3,500,000' : '',
    );
    const [bytes] = pythonEncode('euc_jp', [csv([cells])]);
    // Python writes the backslash as the byte 0x5C, which EUC-JP systems display as ¥.
    expect(bytes!.includes(Buffer.from(',\\3,500,000,'))).toBe(false); // quoted: the amount holds commas
    expect(bytes!.includes(Buffer.from('"\\3,500,000"'))).toBe(true);
    const r = await runCli(['sync', '--source', save(bytes!), '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r.stdout)).toEqual({ inserted: 1, updated: 0, failed: 0 });
    const { rows } = await db.pool.query(`select name, budget::text from buyers where buyer_number = 'B-Y1'`);
    expect(rows).toEqual([{ name: '鈴木 はなこ', budget: '3500000' }]);
  });
});
