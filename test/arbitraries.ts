/**
 * fast-check generators of hostile buyers sheets, each cell generated together
 * with what the row rules must make of it, so tests compare against an
 * independent expectation rather than against the parser itself.
 */
import fc from 'fast-check';
import { HEADER } from '../src/sample/generate.ts';
import { foldKey } from '../src/sync/lookalikes.ts';

/** What a cell must become: a stored value (text, ISO date, bigint digits), null, or a rule failure. */
export type Expect = { ok: string | null } | { bad: 'data_type' };

export interface Cell {
  text: string;
  expect: Expect;
}

const SPACE = fc.constantFrom('', ' ', '  ', '\t', '\u3000', '\u00a0', ' \n');
const FORMULA_ERRORS = ['#REF!', '#N/A', '#VALUE!', '#DIV/0!', '#NAME?', '#NUM!', '#NULL!', '#ERROR!'];
const FORMULA = /^#(?:REF!|N\/A|VALUE!|DIV\/0!|NAME\?|NUM!|NULL!|ERROR!|SPILL!|CALC!|GETTING_DATA)$/;

const surround = (inner: fc.Arbitrary<string>) => fc.tuple(SPACE, inner, SPACE).map(([a, s, b]) => `${a}${s}${b}`);

/** Text that survives trimming unchanged and is not a formula error. */
const coreText = fc
  .oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '佐藤 太郎',
        '東京都世田谷区桜新町2-15-8',
        'O\'Brien, "Ann"',
        'a,b\nc',
        '🏠 家',
        'ümlaut',
      ),
    },
    // Longer than 50 characters: the incident.
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 51, maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom('東'.repeat(51), 'x'.repeat(2000)) },
  )
  .map((s) => s.trim())
  .filter((s) => s !== '' && !FORMULA.test(s) && !s.includes('\u0000') && s.isWellFormed());

export const textCell: fc.Arbitrary<Cell> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(SPACE, coreText, SPACE).map(([a, s, b]) => ({ text: `${a}${s}${b}`, expect: { ok: s } })),
  },
  { weight: 2, arbitrary: SPACE.map((s) => ({ text: s, expect: { ok: null } })) },
  {
    weight: 1,
    arbitrary: surround(fc.constantFrom(...FORMULA_ERRORS)).map((text) => ({
      text,
      expect: { bad: 'data_type' as const },
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('a\u0000b', 'x\uD800y').map((text) => ({ text, expect: { bad: 'data_type' as const } })),
  },
);

const day = fc.integer({ min: 1, max: 2_958_465 });
function isoOf(serial: number): string {
  const d = new Date(Date.UTC(1899, 11, 30) + serial * 86_400_000);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

export const dateCell: fc.Arbitrary<Cell> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.tuple(day, SPACE).map(([n, s]) => ({ text: `${s}${isoOf(n)}`, expect: { ok: isoOf(n) } })),
  },
  { weight: 2, arbitrary: day.map((n) => ({ text: isoOf(n).replaceAll('-', '/'), expect: { ok: isoOf(n) } })) },
  { weight: 2, arbitrary: day.map((n) => ({ text: String(n), expect: { ok: isoOf(n) } })) },
  { weight: 1, arbitrary: SPACE.map((s) => ({ text: s, expect: { ok: null } })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        '2024-02-30',
        '15/03/2024',
        '2024年3月15日',
        'tomorrow',
        '2024-13-01',
        '#N/A',
        '#REF!',
        '99999999',
        '2024-03-15 10:00',
      )
      .map((text) => ({ text, expect: { bad: 'data_type' as const } })),
  },
);

export const budgetCell: fc.Arbitrary<Cell> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.bigInt({ min: -(2n ** 40n), max: 2n ** 62n }),
        fc.constantFrom('', '¥', '$'),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([n, mark, sep, yen]) => {
        const abs = n < 0n ? -n : n;
        const digits = sep ? abs.toLocaleString('en-US') : abs.toString();
        const text = `${n < 0n ? '-' : ''}${mark}${digits}${yen && mark === '' ? '円' : ''}`;
        return { text, expect: { ok: n.toString() } };
      }),
  },
  { weight: 1, arbitrary: SPACE.map((s) => ({ text: s, expect: { ok: null } })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('3500万円', '1.5', 'abc', '12,34', '#VALUE!', '99999999999999999999', '¥')
      .map((text) => ({ text, expect: { bad: 'data_type' as const } })),
  },
);

/** Buyer numbers from a small pool (so duplicates happen), with leading zeros and stray spaces. */
export type KeyCell = { text: string; key: string | null; usable: boolean };
export const keyCell = (pool: string[]): fc.Arbitrary<KeyCell> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(fc.constantFrom(...pool), SPACE)
        .map(([k, s]) => ({ text: `${s}${k}${s}`, key: k, usable: true })),
    },
    { weight: 1, arbitrary: SPACE.map((text) => ({ text, key: null, usable: true })) },
    { weight: 1, arbitrary: fc.constantFrom(...FORMULA_ERRORS).map((text) => ({ text, key: null, usable: false })) },
  );

export const KEY_POOL = ['000001', '000002', '000010', '0042', 'B-7', '東京-3', '12345', '000001 A', 'z'];

export interface GeneratedRow {
  key: KeyCell;
  cells: Cell[]; // columns 1..13 of HEADER
  /** Drop trailing empty cells, as the Sheets API does. */
  ragged: boolean;
}

const TYPES = HEADER.map((h) =>
  h === 'Inquiry Date' || h === 'Next Follow-up' ? 'date' : h === 'Budget' ? 'bigint' : 'text',
);

export const rowArb = (pool: string[] = KEY_POOL, blankWeight = 1): fc.Arbitrary<GeneratedRow> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        key: keyCell(pool),
        cells: fc.tuple(
          ...TYPES.slice(1).map((t) =>
            t === 'date'
              ? dateCell
              : t === 'bigint'
                ? budgetCell
                : fc.oneof(
                    { weight: 3, arbitrary: SPACE.map((s) => ({ text: s, expect: { ok: null } as Expect })) },
                    { weight: 5, arbitrary: textCell },
                  ),
          ),
        ),
        ragged: fc.boolean(),
      }),
    },
    {
      weight: blankWeight,
      arbitrary: fc.record({
        key: SPACE.map((text) => ({ text, key: null, usable: true })),
        cells: fc.tuple(...TYPES.slice(1).map(() => SPACE.map((s) => ({ text: s, expect: { ok: null } as Expect })))),
        ragged: fc.boolean(),
      }),
    },
  );

export const sheetArb = (opts: { maxRows?: number; pool?: string[] } = {}) =>
  fc.array(rowArb(opts.pool), { minLength: 0, maxLength: opts.maxRows ?? 25 });

export function cellsOf(row: GeneratedRow): string[] {
  const cells = [row.key.text, ...row.cells.map((c) => c.text)];
  if (row.ragged) while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
  return cells;
}

export type RowFate =
  | { fate: 'blank' }
  | { fate: 'synced'; key: string; values: (string | null)[] }
  | { fate: 'failed'; type: 'data_type' | 'constraint_violation'; buyerNumber: string | null };

/**
 * What the contract's row rules make of a generated sheet, computed from the
 * generators' intent: the first valid row of a buyer number is synced, and
 * "every other occurrence is logged as constraint_violation" (contract.md),
 * the rows before it that broke a rule included.
 */
export function expectedFates(rows: GeneratedRow[]): RowFate[] {
  const claimed = new Map<string, number>();
  const valid = (row: GeneratedRow) =>
    row.key.usable && row.key.text.trim() !== '' && !row.cells.some((c) => 'bad' in c.expect);
  rows.forEach((row, i) => {
    if (valid(row) && !claimed.has(row.key.key!)) claimed.set(row.key.key!, i);
  });
  return rows.map((row, i): RowFate => {
    const keyEmpty = row.key.text.trim() === '';
    const allEmpty = keyEmpty && row.cells.every((c) => c.text.trim() === '');
    if (allEmpty) return { fate: 'blank' };
    const buyerNumber = row.key.usable ? row.key.key : null;
    if (keyEmpty) return { fate: 'failed', type: 'constraint_violation', buyerNumber: null };
    if (buyerNumber !== null && claimed.has(buyerNumber) && claimed.get(buyerNumber) !== i)
      return { fate: 'failed', type: 'constraint_violation', buyerNumber };
    if (!valid(row)) return { fate: 'failed', type: 'data_type', buyerNumber };
    const key = row.key.key!;
    return { fate: 'synced', key, values: [key, ...row.cells.map((c) => ('ok' in c.expect ? c.expect.ok : null))] };
  });
}

/**
 * Hostile buyer numbers a sheet really holds: leading zeros, Japanese, emoji,
 * inner spaces, punctuation, up to the 200 characters a buyer number may have.
 * Distinct even once Unicode-normalized (lookalikes are their own tests).
 */
const hostileKey = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, '0')) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('東京-3', 'B 7', "O'Neil#1", '🏠-12', 'a,b', 'x"y', '\\back', 'ＡＢＣ-１'),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 150, maxLength: 200 }) },
  )
  .map((s) => s.trim())
  // A key that folds to nothing (only invisible characters) is no key at all (rows.ts): not a buyer number to generate.
  .filter(
    (s) =>
      s !== '' &&
      s.length <= 200 &&
      s === s.trim() &&
      !FORMULA.test(s) &&
      !s.includes('\u0000') &&
      s.isWellFormed() &&
      foldKey(s) !== '',
  );

export const keyPoolArb = (maxLength = 40) =>
  fc.uniqueArray(hostileKey, { minLength: 1, maxLength, selector: foldKey });
