/**
 * CSV records from text that arrives in pieces: RFC 4180 quoting, with CR LF,
 * LF and CR each ending a record wherever they stand outside quotes, mixed
 * freely (a header saved on Windows above rows appended on a Mac is one file).
 *
 * Inside quotes every character is kept as it is, CR LF included. The parser
 * keeps its state between pieces and never looks at a character twice: a
 * cell of 20 MB that arrives in 64 KB pieces is collected piece by piece and
 * joined once, so the work is linear in the size of the file, whatever the
 * shape of its records.
 *
 * The grammar alone decides the structure: a quoted cell holds whatever it
 * holds (lines of prose with a comma on every line included), and nothing is
 * refused for what it looks like. What RFC 4180 rules out is refused with
 * the record (= sheet row) it is in: text after the closing quote of a cell
 * (`"a"b`), and a quote left open at the end of the file. Spaces and tabs
 * after a closing quote are tolerated. A quote inside an unquoted cell
 * (`5'11"`) is an ordinary character. (That every record is as wide as the
 * header is the reader's rule: source.ts.)
 *
 * Cells longer than the limit, and records longer than theirs, are not kept:
 * their length is reported instead (`oversized`), so that one monstrous cell
 * fails its own row instead of exhausting memory.
 */

import { columnLetter } from '../../mapping/mapping.ts';
import type { OversizedCell } from '../source.ts';

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

// Parser states (plain numbers: Node's type stripping has no enums).
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted cell: the next character says whether it was `""` or the closing quote. */
const QUOTE_IN_QUOTED = 3;
/** After a closing quote: only spaces, a comma or a line ending may follow. */
const AFTER_QUOTED = 4;

export interface CsvRecord {
  cells: string[];
  /** Cells whose text was dropped for being too long (their cell is ''), or null. */
  oversized: OversizedCell[] | null;
}

export interface CsvLimits {
  /** Longest cell kept, in UTF-16 code units. */
  maxCellLength: number;
  /** Longest record kept (all its cells together). */
  maxRecordLength: number;
}

/** The file is not CSV a spreadsheet would write; `record` is its 1-based number (= the sheet row). */
export class CsvSyntaxError extends Error {
  readonly record: number;
  constructor(message: string, record: number) {
    super(message);
    this.name = 'CsvSyntaxError';
    this.record = record;
  }
}

export class CsvRecordParser {
  private readonly limits: CsvLimits;
  private state = FIELD_START;
  private cells: string[] = [];
  private parts: string[] = [];
  /** Length of the current field so far (kept or not). */
  private fieldLength = 0;
  /** Length of the current record's finished cells. */
  private recordLength = 0;
  /** The current field broke a limit: its text is no longer collected. */
  private dropping = false;
  private oversized: OversizedCell[] | null = null;
  /** The previous piece ended with the CR of a record ending: an LF starting the next piece belongs to it. */
  private crPending = false;
  /** Records completed so far. */
  records = 0;

  constructor(limits: CsvLimits) {
    this.limits = limits;
  }

  /** Parses the next piece of text, appending the records it completes to `out`. */
  push(text: string, out: CsvRecord[]): void {
    const n = text.length;
    // An empty piece (a decoder holding back half a character) changes nothing, not even a pending CR.
    if (n === 0) return;
    let i = this.afterPendingCr(text);
    let state = this.state;
    while (i < n) {
      if (state === FIELD_START) {
        if (text.charCodeAt(i) === QUOTE) {
          state = QUOTED;
          i++;
          continue;
        }
        state = UNQUOTED;
      }
      if (state === UNQUOTED) {
        let j = i;
        let c = 0;
        for (; j < n; j++) {
          c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
        }
        if (j > i) this.collect(text, i, j);
        if (j === n) break;
        this.endField();
        state = FIELD_START;
        i = c === COMMA ? j + 1 : this.endRecord(text, j, out);
        continue;
      }
      if (state === QUOTED) {
        const j = text.indexOf('"', i);
        if (j < 0) {
          this.collect(text, i, n);
          break;
        }
        if (j > i) this.collect(text, i, j);
        i = j + 1;
        state = QUOTE_IN_QUOTED;
        continue;
      }
      const c = text.charCodeAt(i);
      if (state === QUOTE_IN_QUOTED) {
        if (c === QUOTE) {
          this.collect('"', 0, 1);
          state = QUOTED;
          i++;
          continue;
        }
        state = AFTER_QUOTED;
      }
      // AFTER_QUOTED
      if (c === COMMA || c === LF || c === CR) {
        this.endField();
        state = FIELD_START;
        i = c === COMMA ? i + 1 : this.endRecord(text, i, out);
      } else if (c === SPACE || c === TAB) {
        i++;
      } else {
        throw this.textAfterQuote();
      }
    }
    this.state = state;
  }

  /** Where a piece's text starts: after the LF of a CR LF that the previous piece cut in two. */
  private afterPendingCr(text: string): number {
    if (!this.crPending) return 0;
    this.crPending = false;
    return text.charCodeAt(0) === LF ? 1 : 0;
  }

  /** The refusal of text after a closing quote, built out of the loop (a refused file is rare). */
  private textAfterQuote(): CsvSyntaxError {
    return new CsvSyntaxError(
      `a quoted cell (column ${columnLetter(this.cells.length)}) is followed by other text before the next comma; a spreadsheet would have quoted the whole cell ` +
        '(RFC 4180: only a comma or a line break may follow a closing quote, and a quote inside a cell is written twice)',
      this.records + 1,
    );
  }

  /** The end of the text: completes the last record, if it has no line ending of its own. */
  end(out: CsvRecord[]): void {
    if (this.state === QUOTED) {
      throw new CsvSyntaxError(
        `a quoted cell (column ${columnLetter(this.cells.length)}) is never closed: the file ends inside it`,
        this.records + 1,
      );
    }
    // A record in progress (some text, or a comma) ends with the file; a file ending with a line ending has no phantom record.
    if (this.state !== FIELD_START || this.cells.length > 0) {
      this.endField();
      this.finishRecord(out);
    }
    this.state = FIELD_START;
  }

  private collect(text: string, from: number, to: number): void {
    this.fieldLength += to - from;
    if (this.dropping) return;
    if (
      this.fieldLength > this.limits.maxCellLength ||
      this.recordLength + this.fieldLength > this.limits.maxRecordLength
    ) {
      this.dropping = true;
      this.parts = [];
      return;
    }
    this.parts.push(from === 0 && to === text.length ? text : text.slice(from, to));
  }

  private endField(): void {
    const parts = this.parts;
    if (this.dropping) {
      const cell = this.fieldLength > this.limits.maxCellLength;
      (this.oversized ??= []).push({
        index: this.cells.length,
        length: this.fieldLength,
        limit: cell ? this.limits.maxCellLength : this.limits.maxRecordLength,
        of: cell ? 'cell' : 'row',
      });
      this.cells.push('');
    } else {
      const value = parts.length === 0 ? '' : parts.length === 1 ? parts[0]! : parts.join('');
      this.cells.push(value);
      this.recordLength += this.fieldLength;
    }
    this.parts = [];
    this.fieldLength = 0;
    this.dropping = false;
  }

  /** Ends the record at the line ending `text[at]`; returns where the next record starts. */
  private endRecord(text: string, at: number, out: CsvRecord[]): number {
    this.finishRecord(out);
    let next = at + 1;
    if (text.charCodeAt(at) === CR) {
      if (next < text.length) {
        if (text.charCodeAt(next) === LF) next++;
      } else {
        this.crPending = true;
      }
    }
    return next;
  }

  private finishRecord(out: CsvRecord[]): void {
    out.push({ cells: this.cells, oversized: this.oversized });
    this.records++;
    this.cells = [];
    this.oversized = null;
    this.recordLength = 0;
  }
}
