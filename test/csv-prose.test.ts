/**
 * The grammar, not guesses, decides a file's structure: random buyers sheets
 * whose text cells are realistic prose (several lines, commas on every line,
 * double quotes, LF, CR LF and CR line breaks, Japanese and Latin text, up to
 * 20,000 characters), written by an independent CSV writer (Python 3's csv
 * module, in a child process), always sync exactly: every buyer's columns in
 * the database are the generated values under the row rules (text trimmed,
 * empty means NULL).
 *
 * Python 3's QUOTE_MINIMAL quotes a cell for the characters of its own line
 * terminator only: with a bare LF or CR terminator it would leave the other
 * kind of line break unquoted in a cell, which is not RFC 4180 (no reader,
 * Python's own included, can read it back). So QUOTE_MINIMAL is used with
 * CR LF (both characters quoted), QUOTE_ALL with every terminator.
 */
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { loadMapping } from '../src/mapping/mapping.ts';
import { HEADER } from '../src/sample/generate.ts';
import { CsvSheetSource } from '../src/sheet/csv/source.ts';
import { sync } from '../src/index.ts';
import { readBuyers, resetSyncState, useTestDatabase } from './helpers.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-prose-'));
const db = useTestDatabase();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PYTHON_WRITER = `
import csv, json, sys
job = json.load(sys.stdin)
quoting = {'minimal': csv.QUOTE_MINIMAL, 'all': csv.QUOTE_ALL}[job['quoting']]
with open(job['file'], 'w', encoding='utf-8', newline='') as f:
    w = csv.writer(f, lineterminator=job['lineterminator'], quoting=quoting)
    w.writerows(job['rows'])
`;

/** Writes `rows` (header included) as CSV with Python's csv module. */
function pythonCsv(file: string, rows: string[][], lineterminator: string, quoting: 'minimal' | 'all'): void {
  const r = spawnSync('python3', ['-c', PYTHON_WRITER], {
    input: JSON.stringify({ file, rows, lineterminator, quoting }),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
}

const WORD = fc.constantFrom(
  'pets OK',
  'quiet',
  'a',
  'b',
  'c',
  'south-facing',
  'near school',
  'Renée',
  'Müller',
  'naïve',
  "O'Brien",
  'call back',
  '"urgent"',
  'say ""hi""',
  'ペット可',
  '静かな環境',
  '南向き',
  '駅徒歩5分',
  '佐藤 太郎',
  '東京都世田谷区桜新町2-15-8',
  '「要連絡」',
  'ﾀﾅｶ ﾊﾅｺ',
  '住宅ローン事前審査済み',
  '🏠',
);
const GLUE = fc.constantFrom(
  ', ',
  ',',
  ' ',
  ', ',
  ',,',
  '\n',
  '\r\n',
  '\r',
  '\r\n\r\n',
  '"',
  ' "',
  '" ',
  '、',
  '。',
  ' , ',
  '\t',
);
/** Prose: words and glue, repeated up to 20,000 characters (cut between characters: 🏠 is two UTF-16 units). */
const prose = fc
  .tuple(
    fc.array(fc.tuple(WORD, GLUE), { minLength: 1, maxLength: 40 }),
    fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 400 }) }),
  )
  .map(([parts, times]) => {
    const text = parts
      .map(([w, g]) => w + g)
      .join('')
      .repeat(times);
    const end = /[\ud800-\udbff]/.test(text[19_999] ?? '') ? 19_999 : 20_000;
    return text.slice(0, end);
  });
const textValue = fc.oneof(
  { weight: 5, arbitrary: prose },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\r\n', ' plain ') },
);

const iso = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
/** [cell text, stored value] */
const dateValue: fc.Arbitrary<[string, string | null]> = fc.oneof(
  iso.map((d) => [d, d] as [string, string]),
  iso.map((d) => [d.replaceAll('-', '/'), d] as [string, string]),
  fc.constant<[string, null]>(['', null]),
);
const budgetValue: fc.Arbitrary<[string, string | null]> = fc.oneof(
  fc
    .bigInt({ min: 0n, max: 10n ** 12n })
    .chain((n) =>
      fc.constantFrom<[string, string]>(
        [n.toString(), n.toString()],
        [n.toLocaleString('en-US'), n.toString()],
        [`¥${n.toLocaleString('en-US')}`, n.toString()],
      ),
    ),
  fc.constant<[string, null]>(['', null]),
);

const DATE_COLUMNS = new Set([5, 12]);
const BUDGET_COLUMN = 9;

/** A row: its cells and what the database must hold (readBuyers order: the mapping's). */
const rowArb = (key: string) =>
  fc
    .tuple(fc.array(textValue, { minLength: 11, maxLength: 11 }), dateValue, dateValue, budgetValue)
    .map(([texts, d1, d2, budget]) => {
      const cells: string[] = [key];
      const stored: (string | null)[] = [key];
      let t = 0;
      for (let i = 1; i < HEADER.length; i++) {
        const [text, value] =
          i === BUDGET_COLUMN
            ? budget
            : DATE_COLUMNS.has(i)
              ? i === 5
                ? d1
                : d2
              : ((s: string): [string, string | null] => [s, s.trim() === '' ? null : s.trim()])(texts[t++]!);
        cells.push(text);
        stored.push(value);
      }
      return { cells, stored };
    });

const sheetArb = fc
  .integer({ min: 1, max: 5 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rowArb(`${String(i + 1).padStart(6, '0')}`))));

let files = 0;
describe('multi-line prose in quoted cells', () => {
  it("any sheet of prose cells written by Python's csv module syncs exactly", async () => {
    await fc.assert(
      fc.asyncProperty(
        sheetArb,
        fc.constantFrom<[string, 'minimal' | 'all']>(
          ['\r\n', 'minimal'],
          ['\r\n', 'all'],
          ['\n', 'all'],
          ['\r', 'all'],
        ),
        fc.oneof(fc.integer({ min: 7, max: 64 }), fc.constant(1 << 16)),
        async (rows, [lineterminator, quoting], pieceBytes) => {
          const file = path.join(dir, `${files++}.csv`);
          pythonCsv(file, [HEADER, ...rows.map((r) => r.cells)], lineterminator, quoting);
          await resetSyncState(db.pool);
          const result = await sync(db.pool, {
            source: new CsvSheetSource(file, { pieceBytes }),
            mapping,
            batchSize: 7,
          });
          expect({ inserted: result.inserted, failed: result.failed }).toEqual({ inserted: rows.length, failed: 0 });
          const buyers = await readBuyers(db.pool);
          expect(buyers).toEqual(new Map(rows.map((r) => [r.stored[0]!, r.stored])));
        },
      ),
      // A run is a sheet of up to five rows of eleven prose cells (up to 20,000 characters each), written by Python
      // and synced: 20 runs hold some 1,100 cells, every kind of glue and line break many times over.
      { numRuns: 20 },
    );
  }, 120_000);
});
