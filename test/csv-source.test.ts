/** The CSV export reader: BOM, RFC 4180 quoting, ragged rows, streamed. */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvSheetSource } from '../src/sheet/csv/source.ts';
import type { SheetSource } from '../src/sheet/source.ts';
import { CannotRunError } from '../src/errors.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'buyer-sync-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string | Buffer): string {
  const f = path.join(dir, `${n++}.csv`);
  writeFileSync(f, content);
  return f;
}

async function readAll(source: SheetSource) {
  const reader = await source.open();
  const rows: { rowNumber: number; cells: string[] }[] = [];
  for await (const chunk of reader.rows) rows.push(...chunk);
  return { header: reader.header, rows };
}

function toCsv(rows: string[][], eol: string): string {
  return rows
    .map((r) => r.map((c) => (/[",\r\n]/.test(c) || c === '' ? `"${c.replaceAll('"', '""')}"` : c)).join(','))
    .join(eol);
}

describe('CsvSheetSource', () => {
  it('strips a UTF-8 BOM from the first header', async () => {
    const { header } = await readAll(new CsvSheetSource(file('\ufeffBuyer Number,Name\r\n1,a\r\n')));
    expect(header).toEqual(['Buyer Number', 'Name']);
  });

  it('handles quotes, commas and newlines inside cells, with sheet row numbers', async () => {
    const { rows } = await readAll(new CsvSheetSource(file('No,Notes\n1,"a, ""b""\nc"\n2,plain\n')));
    expect(rows).toEqual([
      { rowNumber: 2, cells: ['1', 'a, "b"\nc'] },
      { rowNumber: 3, cells: ['2', 'plain'] },
    ]);
  });

  it('keeps blank lines as rows, and trailing empty cells beyond the header', async () => {
    const { rows } = await readAll(new CsvSheetSource(file('a,b,c\n1,2,3\n\n4,x,y,,\n,,\n')));
    expect(rows.map((r) => r.cells)).toEqual([['1', '2', '3'], [''], ['4', 'x', 'y', '', ''], ['', '', '']]);
    expect(rows.map((r) => r.rowNumber)).toEqual([2, 3, 4, 5]);
  });

  it.each([
    [
      'a row shorter than the header (a line break outside quotes)',
      'a,b,c\n1,first line\nsecond line,x,y\n',
      /row 2: it has 2 cell\(s\) where the header has 3, columns C onwards missing \(a line break outside quotes, or a file cut short\?\); every row of a CSV export has as many cells as its header/,
    ],
    ['a file cut short', 'a,b,c\n1,2,3\n4,5', /row 3: it has 2 cell\(s\) where the header has 3/],
    [
      'text beyond the header (a comma outside quotes)',
      'a,b,c\n1,2,note, with a comma\n',
      /row 2: it has text in column D, beyond the header's 3 columns/,
    ],
    [
      'a stray quote that swallows rows and ends in a record too narrow',
      'a,b,c\n1,"call back\n2,x,y\n3,x"\n',
      /row 2: it has 2 cell\(s\) where the header has 3/,
    ],
  ])('%s refuses the file (exit 3), naming the row', async (_, content, message) => {
    const err = await readAll(new CsvSheetSource(file(content))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/nothing was written, fix the file and export it again$/);
  });

  it('a quoted Notes cell of multi-line prose with many commas on every line is one cell: the file is a whole table', async () => {
    const notes =
      'pets OK, quiet, a, b, c, south-facing, near school\r\nsecond line, with, as, many, commas, as, a, row\nthird, line, x, y, z, w';
    const content = `No,Name,Notes\r\n1,Sato,"${notes}"\r\n2,Ito,"say ""hi"", then
a, b, c"\r\n`;
    const { rows } = await readAll(new CsvSheetSource(file(content)));
    expect(rows).toEqual([
      { rowNumber: 2, cells: ['1', 'Sato', notes] },
      { rowNumber: 3, cells: ['2', 'Ito', 'say "hi", then\na, b, c'] },
    ]);
    // What used to be refused as "rows swallowed by a quote" is valid CSV as wide as its header: the grammar says it is one cell.
    const swallowed = await readAll(new CsvSheetSource(file('a,b,c\n1,2,"call back\n2,x,y\n3,x,y"\n4,5,6\n')));
    expect(swallowed.rows.map((r) => r.cells)).toEqual([
      ['1', '2', 'call back\n2,x,y\n3,x,y'],
      ['4', '5', '6'],
    ]);
  });

  it('text after a closing quote refuses the file (exit 3), naming row, column and the rule', async () => {
    const err = await readAll(new CsvSheetSource(file('a,b,c\n1,2,3\n4,"five"x,6\n'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(
      /is not valid CSV: row 3: a quoted cell \(column B\) is followed by other text before the next comma; .*\(RFC 4180: only a comma or a line break may follow a closing quote, and a quote inside a cell is written twice\); nothing was written$/,
    );
  });

  it('a directory or a pipe is not a sheet export: one clear line', async () => {
    const err = await new CsvSheetSource(dir).open().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not a file \(a directory, a pipe or a device\)/);
  });

  it('never guesses the delimiter from the content', async () => {
    const { header, rows } = await readAll(new CsvSheetSource(file('a;b;c,d\n1;2;3,4\n')));
    expect(header).toEqual(['a;b;c', 'd']);
    expect(rows[0]!.cells).toEqual(['1;2;3', '4']);
  });

  it('a missing file is a clear could-not-run error', async () => {
    const err = await new CsvSheetSource(path.join(dir, 'nope.csv')).open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(/cannot read the sheet export ".*nope\.csv": no such file/);
  });

  it('streams large files in chunks with the right row numbers', async () => {
    const lines = ['id,v', ...Array.from({ length: 5000 }, (_, i) => `${i},${'x'.repeat(i % 7)}`)];
    const reader = await new CsvSheetSource(file(lines.join('\n'))).open();
    let chunks = 0;
    let last = 0;
    for await (const chunk of reader.rows) {
      chunks++;
      for (const r of chunk) expect(r.rowNumber).toBe(++last + 1);
    }
    expect(last).toBe(5000);
    expect(chunks).toBeGreaterThan(1);
  });

  it('any sheet survives the round trip through an RFC 4180 export', async () => {
    const cellArb = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.constantFrom('a,b', '"q"', 'line\nbreak', 'cr\r\nlf', ' pad ', '', '東京', '\ufeffx'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(cellArb, { minLength: 6, maxLength: 6 }), { maxLength: 12 }),
        fc.constantFrom('\n', '\r\n'),
        async (header, wide, eol) => {
          // A spreadsheet writes every row as wide as the table (a blank row too: its cells are empty).
          const rows = wide.map((r) => r.slice(0, header.length));
          // A row of one empty cell is an empty line, which is what a blank sheet row exports as.
          const f = file(toCsv([header, ...rows], eol));
          const { header: h, rows: got } = await readAll(new CsvSheetSource(f)).catch(async (err: unknown) => {
            // Bytes that are UTF-8 Greek or Polish and Shift_JIS half-width katakana alike (Ź is ﾅｹ) are the operator's to
            // name: refused only when nothing in the file is beyond two-byte UTF-8, then read as the operator says.
            if (!(err instanceof CannotRunError) || !/alike: pass --encoding utf-8/.test(err.message)) throw err;
            expect([...header, ...rows.flat()].join('')).not.toMatch(/[\u0800-\uffff]|[\u{10000}-\u{10ffff}]/u);
            return readAll(new CsvSheetSource(f, { encoding: { encoding: 'utf-8', from: '--encoding' } }));
          });
          expect(h).toEqual(header);
          expect(got.map((r) => r.cells)).toEqual(rows);
          expect(got.map((r) => r.rowNumber)).toEqual(rows.map((_, i) => i + 2));
        },
      ),
      // CI's counterexample: a file whose only letter beyond ASCII is Ź (UTF-8 C5 B9, Shift_JIS ﾅｹ).
      {
        numRuns: 100,
        examples: [
          [
            ['y'],
            [
              ['', 'a', 'b', 'c', 'd', 'e'],
              ['Ź', 'a', 'b', 'c', 'd', 'e'],
            ],
            '\r\n',
          ],
        ],
      },
    );
  });
});

describe('multi-byte text across read boundaries', () => {
  it('reads Japanese text exactly, wherever the file is cut into chunks', async () => {
    const value = '東京都世田谷区桜新町二丁目🏠'.repeat(3);
    const lines = ['No,Address', ...Array.from({ length: 40_000 }, (_, i) => `${i},${value.slice(i % 7)}`)];
    const { rows } = await readAll(new CsvSheetSource(file(lines.join('\n'))));
    expect(rows).toHaveLength(40_000);
    rows.forEach((r, i) => expect(r.cells[1]).toBe(value.slice(i % 7)));
  });
});

describe('malformed exports', () => {
  it('an unterminated quote makes the sheet unreadable (exit 3), naming the record, instead of swallowing the rest of the file', async () => {
    const reader = await new CsvSheetSource(file('a,b\n1,"open\n2,x\n3,y\n')).open();
    const err = await (async () => {
      for await (const _ of reader.rows) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CannotRunError);
    expect((err as Error).message).toMatch(
      /is not valid CSV: row 2: a quoted cell \(column B\) is never closed: the file ends inside it; nothing was written$/,
    );
  });
});

describe('piece boundaries', () => {
  it('a CRLF export whose read boundary falls between \\r and \\n after a quoted cell reads exactly', async () => {
    // Pieces are 64 KiB: place a quoted last cell so that its \r is the last character of the first piece.
    const headerLine = 'No,Notes\r\n';
    const filler = 'x'.repeat(100);
    const lines: string[] = [];
    let size = headerLine.length;
    let i = 0;
    while (size < 65_536 - 300) {
      const l = `${i},${filler}\r\n`;
      lines.push(l);
      size += l.length;
      i++;
    }
    // The last line before the boundary: a quoted cell with a comma, ending exactly at byte 65,535 with \r.
    const pad = 65_536 - size - `${i},"a, b`.length - '"\r'.length;
    lines.push(`${i},"a, b${'y'.repeat(pad)}"\r\n`);
    lines.push(`${i + 1},last\r\n`);
    const content = headerLine + lines.join('');
    expect(content.indexOf('\r', 65_530)).toBe(65_535);
    const { rows } = await readAll(new CsvSheetSource(file(content)));
    expect(rows).toHaveLength(i + 2);
    expect(rows.at(-2)!.cells).toEqual([String(i), `a, b${'y'.repeat(pad)}`]);
    expect(rows.at(-1)!.cells).toEqual([String(i + 1), 'last']);
  });

  it('a BOM before a quoted first header', async () => {
    const { header, rows } = await readAll(new CsvSheetSource(file('\ufeff"Buyer Number","Name"\r\n"1","a"\r\n')));
    expect(header).toEqual(['Buyer Number', 'Name']);
    expect(rows[0]!.cells).toEqual(['1', 'a']);
  });
});
