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
 * What a spreadsheet never writes, and the parser will not guess about, is
 * refused with the record (= sheet row) it is in: text after the closing
 * quote of a cell (`"a"b`), and a quote left open at the end of the file.
 * Spaces and tabs after a closing quote are tolerated. A quote inside an
 * unquoted cell (`5'11"`) is an ordinary character.
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
  /** Indexes of the quoted cells that hold a line break (a row swallowed by a stray quote would be one), or null. */
  multiline: number[] | null;
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
  /** The current field began with a quote. */
  private quoted = false;
  private multiline: number[] | null = null;

  constructor(limits: CsvLimits) {
    this.limits = limits;
  }

  /** Parses the next piece of text, appending the records it completes to `out`. */
  push(text: string, out: CsvRecord[]): void {
    const n = text.length;
    // An empty piece (a decoder holding back half a character) changes nothing, not even a pending CR.
    if (n === 0) return;
    let i = 0;
    if (this.crPending) {
      this.crPending = false;
      if (n > 0 && text.charCodeAt(0) === LF) i = 1;
    }
    let state = this.state;
    while (i < n) {
      if (state === FIELD_START) {
        if (text.charCodeAt(i) === QUOTE) {
          state = QUOTED;
          this.quoted = true;
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
        if (j === n) {
          i = n;
          break;
        }
        this.endField();
        state = FIELD_START;
        i = j + 1;
        if (c !== COMMA) i = this.endRecord(text, j, out);
        continue;
      }
      if (state === QUOTED) {
        const j = text.indexOf('"', i);
        if (j < 0) {
          this.collect(text, i, n);
          i = n;
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
      if (c === COMMA) {
        this.endField();
        state = FIELD_START;
        i++;
      } else if (c === LF || c === CR) {
        this.endField();
        state = FIELD_START;
        i = this.endRecord(text, i, out);
      } else if (c === SPACE || c === TAB) {
        i++;
      } else {
        throw new CsvSyntaxError(
          `a quoted cell (column ${columnLetter(this.cells.length)}) is followed by other text before the next comma; a spreadsheet would have quoted the whole cell`,
          this.records + 1,
        );
      }
    }
    this.state = state;
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
    if (this.fieldLength > this.limits.maxCellLength || this.recordLength + this.fieldLength > this.limits.maxRecordLength) {
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
      if (this.quoted && (value.includes('\n') || value.includes('\r'))) (this.multiline ??= []).push(this.cells.length);
      this.cells.push(value);
      this.recordLength += this.fieldLength;
    }
    this.parts = [];
    this.fieldLength = 0;
    this.dropping = false;
    this.quoted = false;
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
    out.push({ cells: this.cells, oversized: this.oversized, multiline: this.multiline });
    this.records++;
    this.cells = [];
    this.oversized = null;
    this.multiline = null;
    this.recordLength = 0;
  }
}

/**
 * Whether a cell's text, after its first line, has a line with at least
 * `commas` commas: with a whole row's worth of commas, rows swallowed by a
 * quote opened by mistake, most likely.
 */
export function looksLikeSwallowedRow(value: string, commas: number): boolean {
  let at = value.search(/[\r\n]/);
  if (at < 0) return false;
  let count = 0;
  for (; at < value.length; at++) {
    const c = value.charCodeAt(at);
    if (c === LF || c === CR) count = 0;
    else if (c === COMMA && ++count >= commas) return true;
  }
  return false;
}
