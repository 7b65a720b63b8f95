/**
 * CSV records, not lines: CR LF, LF and CR end records anywhere outside
 * quotes, mixed freely; inside quotes every character is kept; the text may
 * arrive cut anywhere; what a spreadsheet would never write is refused with
 * its row.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvRecordParser, CsvSyntaxError, type CsvRecord } from '../src/sheet/csv/records.ts';

const LIMITS = { maxCellLength: 1 << 30, maxRecordLength: 1 << 30 };

/** Parses `text` cut into pieces at the given offsets. */
function parse(text: string, cuts: number[] = [], limits = LIMITS): CsvRecord[] {
  const parser = new CsvRecordParser(limits);
  const out: CsvRecord[] = [];
  let from = 0;
  // Repeated cuts make empty pieces, as a decoder holding back half a character does.
  for (const at of [...cuts].sort((a, b) => a - b)) {
    if (at < from || at > text.length) continue;
    parser.push(text.slice(from, at), out);
    from = at;
  }
  parser.push(text.slice(from), out);
  parser.end(out);
  return out;
}
const cells = (records: CsvRecord[]) => records.map((r) => r.cells);

function field(c: string): string {
  return /[",\r\n]/.test(c) || c === '' ? `"${c.replaceAll('"', '""')}"` : c;
}

describe('record separators', () => {
  it('CR LF, LF and CR each end a record, mixed in one file', () => {
    expect(cells(parse('h1,h2\r\na,b\nc,d\re,f\r\n'))).toEqual([
      ['h1', 'h2'],
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('the mixed-line-endings incident: a CR LF header over LF rows is 1 + 50 records, not 2', () => {
    const text = `Buyer Number,Name\r\n${Array.from({ length: 50 }, (_, i) => `${i},n${i}`).join('\n')}\n`;
    const records = parse(text);
    expect(records).toHaveLength(51);
    expect(records[50]!.cells).toEqual(['49', 'n49']);
  });

  it('a file ending with a line ending has no phantom record, for every kind of ending', () => {
    for (const eol of ['\n', '\r\n', '\r'])
      expect(cells(parse(`a,b${eol}c,d${eol}`))).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
    expect(cells(parse('a,b'))).toEqual([['a', 'b']]);
    expect(parse('')).toEqual([]);
  });

  it('an empty line is a record of one empty cell (a blank sheet row), whatever ends it', () => {
    expect(cells(parse('a\r\n\r\nb\n\nc\r\rd'))).toEqual([['a'], [''], ['b'], [''], ['c'], [''], ['d']]);
  });

  it('a CR LF cut between its CR and its LF is still one line ending', () => {
    const text = 'a,b\r\nc,d\r\n';
    for (let cut = 1; cut < text.length; cut++)
      expect(cells(parse(text, [cut]))).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]);
  });

  it('a CR LF split by an empty piece (a decoder holding back half a character) is still one line ending', () => {
    const parser = new CsvRecordParser(LIMITS);
    const out: CsvRecord[] = [];
    for (const piece of ['a,b\r', '', '\n', 'c', '', ',d\r', '', '']) parser.push(piece, out);
    parser.end(out);
    expect(cells(out)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('a trailing comma is an empty last cell', () => {
    expect(cells(parse('a,\r\n,b,\r'))).toEqual([
      ['a', ''],
      ['', 'b', ''],
    ]);
  });
});

describe('quotes', () => {
  it('keeps every character inside quotes: CR LF, lone CR, LF, commas, doubled quotes', () => {
    expect(cells(parse('"a\r\nb","c\rd","e\nf","g,h","i""j"\r\n'))).toEqual([['a\r\nb', 'c\rd', 'e\nf', 'g,h', 'i"j']]);
  });

  it('a quote inside an unquoted cell is an ordinary character', () => {
    expect(cells(parse('5\'11",ab"c\n'))).toEqual([['5\'11"', 'ab"c']]);
  });

  it('spaces after a closing quote are tolerated', () => {
    expect(cells(parse('"a" ,"b"\t\n'))).toEqual([['a', 'b']]);
  });

  it('text after a closing quote is refused, naming the row and the column', () => {
    const err = (() => {
      try {
        parse('h1,h2\n1,"a"b\n');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(CsvSyntaxError);
    expect((err as CsvSyntaxError).record).toBe(2);
    expect((err as Error).message).toContain('column B');
  });

  it('a quote left open at the end of the file is refused with the row it opened in', () => {
    expect(() => parse('h\n"open\n2\n3\n')).toThrow(CsvSyntaxError);
    try {
      parse('h\nx\n"open\n2\n3\n');
    } catch (e) {
      expect((e as CsvSyntaxError).record).toBe(3);
    }
  });
});

describe('any file, cut anywhere', () => {
  const cell = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.constantFrom('', ',', '"', '""', '\r', '\n', '\r\n', '\n\r', 'a\r\nb', ' "x" ', '東京', '🏠'),
  );
  const record = fc.array(cell, { minLength: 1, maxLength: 6 }).filter((r) => !(r.length === 1 && r[0] === ''));

  it('records written with a random line ending each, cut into random pieces, parse back exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(record, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat({ max: 400 }), { maxLength: 30 }),
        (rows, lastEnds, cuts) => {
          const text = rows
            .map(([r, eol], i) => r.map(field).join(',') + (i < rows.length - 1 || lastEnds ? eol : ''))
            .join('');
          expect(cells(parse(text, cuts))).toEqual(rows.map(([r]) => r));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the grammar decides, not what a cell looks like', () => {
  it('a quoted cell holding lines of prose with a whole row of commas on each is one cell', () => {
    const out = parse('a,b,c,d\n1,x,y,"call back\n2,Sato,z,w\n3,Ito,z,w"\n4,"two\nlines, fine",p,q\n');
    expect(out.map((r) => r.cells)).toEqual([
      ['a', 'b', 'c', 'd'],
      ['1', 'x', 'y', 'call back\n2,Sato,z,w\n3,Ito,z,w'],
      ['4', 'two\nlines, fine', 'p', 'q'],
    ]);
  });
});

describe('huge cells', () => {
  it('a 20 MB cell arriving in 64 KB pieces comes out whole', () => {
    const big = 'x'.repeat(20 * 2 ** 20);
    const text = `a,"${big}",b\r\nc,d,e\r\n`;
    const cuts = Array.from({ length: Math.floor(text.length / 65_536) }, (_, i) => (i + 1) * 65_536);
    const records = parse(text, cuts);
    expect(records).toHaveLength(2);
    expect(records[0]!.cells[1]!.length).toBe(big.length);
    expect(records[0]!.cells[1] === big).toBe(true);
  });

  it('a cell over the limit is dropped and reported with its length, and the rest of the record is kept', () => {
    const records = parse(`k1,${'y'.repeat(50)},z\nk2,short,z\n`, [20, 40], {
      maxCellLength: 10,
      maxRecordLength: 1000,
    });
    expect(records[0]).toEqual({
      cells: ['k1', '', 'z'],
      oversized: [{ index: 1, length: 50, limit: 10, of: 'cell' }],
    });
    expect(records[1]).toEqual({ cells: ['k2', 'short', 'z'], oversized: null });
  });

  it('a record over its limit drops the cells that break it', () => {
    const records = parse('aaaa,bbbb,cccc\n', [], { maxCellLength: 100, maxRecordLength: 10 });
    expect(records[0]!.cells).toEqual(['aaaa', 'bbbb', '']);
    expect(records[0]!.oversized).toEqual([{ index: 2, length: 4, limit: 10, of: 'row' }]);
  });
});
