/** The row rules of contract.md, as pure functions. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadMapping, parseMapping, resolveHeader, columnLetter } from '../src/mapping/mapping.ts';
import { contentHash } from '../src/sync/content-hash.ts';
import { parseAmount, parseDate, parseRow, rowRules } from '../src/sync/rows.ts';
import { categorizeError, RowRuleError } from '../src/sync/error-types.ts';
import { projectRoot } from '../src/config.ts';
import path from 'node:path';
import { HEADER } from '../src/sample/generate.ts';

const mapping = loadMapping(path.join(projectRoot, 'db', 'sheet-mapping.json'));
const header = resolveHeader(mapping, HEADER);
const rules = rowRules(header, { encoding: null, dateSerials: true }, 200);

describe('dates', () => {
  it.each([
    ['2024-03-15', '2024-03-15'],
    ['2024/03/15', '2024-03-15'],
    ['2024/3/5', '2024-03-05'],
    ['45366', '2024-03-15'],
    ['45366.75', '2024-03-15'],
    ['36526', '2000-01-01'],
    ['0', '1899-12-30'],
    ['2024-02-29', '2024-02-29'],
    ['0001-01-01', '0001-01-01'],
    ['9999-12-31', '9999-12-31'],
  ])('%s is %s', (text, iso) => {
    expect(parseDate(text)?.iso).toBe(iso);
  });

  it.each([
    '2024-02-30',
    '2023-02-29',
    '2024-13-01',
    '2024-00-10',
    '15/03/2024',
    '03/15/2024',
    '2024年3月15日',
    '2024-03-15T10:00',
    'March 15',
    '-1',
    '2958466',
    '0000-01-01',
    '2024.03.15',
  ])('%s is not a date', (text) => {
    expect(parseDate(text)).toBeNull();
  });

  it('serial numbers and calendar dates agree for every day of years 1900-2100', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 73415 }), (serial) => {
        const fromSerial = parseDate(String(serial))!;
        const viaIso = parseDate(fromSerial.iso)!;
        expect(viaIso).toEqual(fromSerial);
        expect(parseDate(fromSerial.iso.replaceAll('-', '/'))).toEqual(fromSerial);
      }),
      { numRuns: 200 },
    );
  });
});

describe('budgets', () => {
  it.each([
    ['35000000', '35000000'],
    ['35,000,000', '35000000'],
    ['¥35,000,000', '35000000'],
    ['￥35,000,000', '35000000'],
    ['$450,000', '450000'],
    ['35,000,000円', '35000000'],
    ['-5,000', '-5000'],
    ['007', '7'],
    ['9223372036854775807', '9223372036854775807'],
  ])('%s is %s', (text, value) => {
    expect(parseAmount(text)).toEqual({ value });
  });

  it.each(['3500万円', '35,00,000', '1.5', '35 000 000', '1e6', '¥', 'abc', '--5', '-¥-5', ',100'])(
    '%s is not an amount',
    (text) => {
      expect(parseAmount(text)).toEqual({ error: 'format' });
    },
  );

  it('rejects amounts outside bigint', () => {
    expect(parseAmount('9223372036854775808')).toEqual({ error: 'range' });
    expect(parseAmount('-9,223,372,036,854,775,809')).toEqual({ error: 'range' });
  });

  it('formats with separators and currency marks parse to the plain integer', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        fc.constantFrom('', '¥', '$'),
        fc.boolean(),
        fc.boolean(),
        (n, mark, sep, yen) => {
          const digits = sep ? n.toLocaleString('en-US') : n.toString();
          expect(parseAmount(`${mark}${digits}${yen && mark === '' ? '円' : ''}`)).toEqual({ value: n.toString() });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('parseRow', () => {
  const row = (over: Record<number, string>) => HEADER.map((_, i) => over[i] ?? '');

  it('trims text, keeps leading zeros, empties are null', () => {
    const r = parseRow(2, row({ 0: ' 000123 ', 1: '\u3000佐藤 太郎\u3000', 2: '   ' }), rules);
    expect(r.kind).toBe('valid');
    if (r.kind !== 'valid') return;
    expect(r.row.key).toBe('000123');
    expect(r.row.values[0]).toBe('000123');
    expect(r.row.values[1]).toBe('佐藤 太郎');
    expect(r.row.values[2]).toBeNull();
  });

  it('a row whose mapped cells are all empty is blank, whatever is beyond them', () => {
    expect(parseRow(9, [' ', '', '\t'], rules)).toEqual({ kind: 'blank', rowNumber: 9 });
    expect(parseRow(9, [], rules)).toEqual({ kind: 'blank', rowNumber: 9 });
    expect(parseRow(9, [...row({}), 'unmapped data'], rules)).toEqual({ kind: 'blank', rowNumber: 9 });
  });

  it('data without a buyer number is a constraint violation naming the column, without the data', () => {
    const r = parseRow(5, row({ 1: 'Secret Person', 4: 'Secret Street 1' }), rules);
    expect(r).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'constraint_violation', buyerNumber: null, rowNumber: 5, column: 'buyer_number' },
    });
    if (r.kind === 'invalid') {
      expect(r.problem.message).toContain('column "Buyer Number" (buyer_number) is empty');
      expect(r.problem.message).not.toContain('Secret');
    }
  });

  it('formula errors, bad dates and bad budgets are data_type errors that never quote the cell', () => {
    for (const [i, cell] of [
      [9, '#REF!'],
      [12, '#N/A'],
      [5, 'Secret-Date'],
      [9, 'Secret¥'],
    ] as const) {
      const r = parseRow(7, row({ 0: 'B1', [i]: cell }), rules);
      expect(r).toMatchObject({
        kind: 'invalid',
        problem: { errorType: 'data_type', buyerNumber: 'B1', rowNumber: 7, column: mapping.columns[i]!.column },
      });
      if (r.kind === 'invalid') {
        expect(r.problem.message).toContain(`column "${HEADER[i]}"`);
        expect(r.problem.message).not.toContain('Secret');
      }
    }
  });

  it('a formula error in the key leaves the row without a buyer number', () => {
    const r = parseRow(3, row({ 0: '#REF!', 1: 'x' }), rules);
    expect(r).toMatchObject({ kind: 'invalid', problem: { errorType: 'data_type', buyerNumber: null } });
  });

  it('NUL characters and lone surrogates are data errors (PostgreSQL cannot store them faithfully)', () => {
    expect(parseRow(3, row({ 0: 'B1', 13: 'a\u0000b' }), rules)).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'data_type', column: 'notes' },
    });
    expect(parseRow(3, row({ 0: 'B1', 13: 'a\uD800b' }), rules)).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'data_type', column: 'notes' },
    });
  });

  it('a long value is fine: every text column is text', () => {
    const r = parseRow(3, row({ 0: 'B1', 4: '東'.repeat(5000) }), rules);
    expect(r.kind).toBe('valid');
  });

  it('the content hash changes with any value and tells null from empty-looking text', () => {
    expect(contentHash(['n'])).not.toBe(contentHash(['v0:']));
    expect(contentHash(['v1:a', 'v1:b'])).not.toBe(contentHash(['v2:ab', 'n']));
  });
});

describe('mapping', () => {
  it('header matching ignores case and surrounding whitespace', () => {
    const r = resolveHeader(
      mapping,
      HEADER.map((h, i) => (i % 2 ? `  ${h.toUpperCase()} ` : h.toLowerCase())),
    );
    expect(r.columns).toHaveLength(14);
    expect(r.unknownHeaders).toEqual([]);
  });

  it('a missing required header stops the run, naming it', () => {
    expect(() =>
      resolveHeader(
        mapping,
        HEADER.filter((h) => h !== 'Budget'),
      ),
    ).toThrow(/the sheet has no "Budget" column/);
  });

  it('an empty row 1 (an empty export) says so, instead of listing every header', () => {
    for (const header of [[], [''], ['  ', '']]) {
      expect(() => resolveHeader(mapping, header)).toThrow(
        /^row 1 of the sheet is empty, and the header row \("Buyer Number", …\) must be row 1/,
      );
    }
  });

  it('a tab-separated header read as one cell is named as such; tabs inside one unknown header are not', () => {
    expect(() => resolveHeader(mapping, [HEADER.join('\t')])).toThrow(
      /separated by tabs, not commas .*"CSV UTF-8 \(Comma delimited\)"/,
    );
    expect(() => resolveHeader(mapping, ['a\tb', 'c'])).toThrow(/the sheet has no "Buyer Number", .* columns/);
    // A comma-separated header missing one column, with one odd cell holding a tab, is not called tab-separated.
    const odd = [...HEADER.filter((h) => h !== 'Phone' && h !== 'Email'), 'Phone\tEmail'];
    expect(() => resolveHeader(mapping, odd)).toThrow(/the sheet has no "Phone", "Email" columns/);
  });

  it('a duplicated header stops the run, naming it and its columns', () => {
    expect(() => resolveHeader(mapping, [...HEADER, ' email '])).toThrow(
      /header "Email" appears 2 times \(columns D, O\)/,
    );
  });

  it('unknown headers are reported for the warning', () => {
    expect(resolveHeader(mapping, [...HEADER, 'Referrer', '']).unknownHeaders).toEqual(['Referrer']);
  });

  it('optional headers may be absent', () => {
    const m = parseMapping(
      {
        key: 'buyer_number',
        columns: [
          { header: 'No', column: 'buyer_number', type: 'text' },
          { header: 'Notes', column: 'notes', type: 'text', required: false },
        ],
      },
      'test',
    );
    expect(resolveHeader(m, ['No']).absentOptional).toEqual(['Notes']);
  });

  it.each([
    [{ columns: [] }, /"key"/],
    [{ key: 'k', columns: [{ header: 'K', column: 'k', type: 'int' }] }, /type must be one of/],
    [
      {
        key: 'k',
        columns: [
          { header: 'K', column: 'k', type: 'text' },
          { header: ' k', column: 'x', type: 'text' },
        ],
      },
      /mapped twice/,
    ],
    [{ key: 'k', columns: [{ header: 'K', column: 'K-K', type: 'text' }] }, /identifier/],
    [{ key: 'z', columns: [{ header: 'K', column: 'k', type: 'text' }] }, /key column "z" is not mapped/],
  ])('rejects a broken mapping %j', (raw, message) => {
    expect(() => parseMapping(raw, 'test')).toThrow(message);
  });

  it('names columns like the spreadsheet does', () => {
    expect([0, 25, 26, 27, 701, 702].map(columnLetter)).toEqual(['A', 'Z', 'AA', 'AB', 'ZZ', 'AAA']);
  });
});

describe('categorizeError', () => {
  it.each([
    ['22001', 'field_length'],
    ['22P02', 'data_type'],
    ['22007', 'data_type'],
    ['22008', 'data_type'],
    ['22003', 'data_type'],
    ['23505', 'constraint_violation'],
    ['23514', 'constraint_violation'],
    ['21000', 'constraint_violation'],
    ['08006', 'transient'],
    ['40001', 'transient'],
    ['40P01', 'transient'],
    ['53300', 'transient'],
    ['57P01', 'transient'],
    ['ECONNRESET', 'transient'],
    ['ETIMEDOUT', 'transient'],
    ['42P01', 'unknown'],
    ['XX000', 'unknown'],
  ])('%s is %s', (code, type) => {
    expect(categorizeError(Object.assign(new Error('x'), { code }))).toBe(type);
  });

  it('goes by cause, not by message text', () => {
    expect(categorizeError(new Error('value too long for type character varying(50)'))).toBe('unknown');
    expect(categorizeError(new RowRuleError('anything', 'data_type', 'budget'))).toBe('data_type');
  });
});

describe('hardening rules', () => {
  const row = (over: Record<number, string>) => HEADER.map((_, i) => over[i] ?? '');
  const csvRules = rowRules(
    header,
    { encoding: { name: 'utf-8', label: 'UTF-8', how: 'detected' }, dateSerials: false },
    10,
  );
  const sjisRules = rowRules(
    header,
    { encoding: { name: 'shift_jis', label: 'Shift_JIS', how: 'detected' }, dateSerials: false },
    10,
  );

  it('a buyer number longer than the limit fails its row as field_length, naming its length, and keeps the number', () => {
    const r = parseRow(4, row({ 0: 'K'.repeat(11), 1: 'x' }), csvRules);
    expect(r).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'field_length', buyerNumber: 'K'.repeat(11), column: 'buyer_number' },
    });
    if (r.kind === 'invalid')
      expect(r.problem.message).toBe(
        'row 4: column "Buyer Number" (buyer_number) is 11 characters long; a buyer number may have at most 10',
      );
    expect(parseRow(4, row({ 0: '東'.repeat(10) }), csvRules).kind).toBe('valid'); // characters, not bytes
    expect(parseRow(4, row({ 0: '🏠'.repeat(10) }), csvRules).kind).toBe('valid'); // code points, not UTF-16 units
  });

  it('in a CSV export a bare number in a date column is no date (serials come only from the Sheets API)', () => {
    for (const cell of ['1', '2024', '45366']) {
      const r = parseRow(3, row({ 0: 'B1', 5: cell }), csvRules);
      expect(r).toMatchObject({ kind: 'invalid', problem: { errorType: 'data_type', column: 'inquiry_date' } });
      if (r.kind === 'invalid') expect(r.problem.message).toContain('expected YYYY-MM-DD or YYYY/MM/DD;');
    }
    expect(parseRow(3, row({ 0: 'B1', 5: '45366' }), rules)).toMatchObject({
      kind: 'valid',
      row: { values: expect.arrayContaining(['2024-03-15']) },
    });
    expect(parseDate('45366', false)).toBeNull();
  });

  it('in a Shift_JIS export a backslash before an amount is the yen sign (byte 0x5C); elsewhere it is not an amount', () => {
    expect(parseRow(3, row({ 0: 'B1', 9: '\\35,000,000' }), sjisRules)).toMatchObject({
      kind: 'valid',
      row: { values: expect.arrayContaining(['35000000']) },
    });
    expect(parseRow(3, row({ 0: 'B1', 9: '\\35,000,000' }), csvRules)).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'data_type', column: 'budget' },
    });
    expect(parseAmount('\\1,000', true)).toEqual({ value: '1000' });
    expect(parseAmount('\\1,000')).toEqual({ error: 'format' });
  });

  it('bytes the export cannot decode fail the row as data_type naming the encoding and how many; never as a value', () => {
    const r = parseRow(7, row({ 0: 'B1', 1: `秘密\udfff名前\udfff` }), sjisRules);
    expect(r).toMatchObject({ kind: 'invalid', problem: { errorType: 'data_type', column: 'name' } });
    if (r.kind === 'invalid') {
      expect(r.problem.message).toBe(
        'row 7: column "Name" (name) contains 2 byte sequences that are not valid Shift_JIS',
      );
    }
    const api = parseRow(7, row({ 0: 'B1', 1: 'a\ud800' }), rules);
    if (api.kind === 'invalid') expect(api.problem.message).toContain('contains malformed Unicode (1 lone surrogate)');
  });

  it('a cell too long to keep fails its row as field_length with its length; a too-long buyer number leaves the row without one', () => {
    const big = [{ index: 13, length: 40_000_000, limit: 33_554_432, of: 'cell' as const }];
    const r = parseRow(5, row({ 0: 'B1' }), csvRules, big);
    expect(r).toMatchObject({
      kind: 'invalid',
      problem: { errorType: 'field_length', buyerNumber: 'B1', column: 'notes' },
    });
    if (r.kind === 'invalid')
      expect(r.problem.message).toBe(
        'row 5: column "Notes" (notes) is 40,000,000 characters long, more than the 33,554,432 a cell may hold',
      );
    const key = parseRow(5, row({ 1: 'x' }), csvRules, [
      { index: 0, length: 99_999_999, limit: 67_108_864, of: 'row' },
    ]);
    expect(key).toMatchObject({ kind: 'invalid', problem: { errorType: 'field_length', buyerNumber: null } });
    if (key.kind === 'invalid')
      expect(key.problem.message).toContain(
        'column "Buyer Number" (buyer_number) was not kept: the row is longer than the 67,108,864 characters a row may hold',
      );
  });
});

describe('headers', () => {
  it('repeated unmapped headers are reported, not refused; repeated mapped ones still refuse', () => {
    const r = resolveHeader(mapping, [...HEADER, 'Memo', 'memo ', 'Other']);
    expect(r.unknownHeaders).toEqual(['Memo', 'Other']);
    expect(r.repeatedUnknownHeaders).toEqual(['Memo']);
    expect(() => resolveHeader(mapping, [...HEADER, 'NAME'])).toThrow(/header "Name" appears 2 times/);
  });
});
