/**
 * CSV exports of the sheet: UTF-8 with or without a BOM, RFC 4180 quoting
 * (commas, quotes and newlines inside cells), CRLF or LF, ragged rows.
 *
 * Streamed: Node reads and decodes the file 64 KB at a time (the consumer's
 * pace is the pace of reading), and papaparse's core parser turns each piece
 * into records, carrying an unfinished last record over to the next piece.
 * Papaparse's own stream wrappers are avoided on purpose: the duplex one
 * re-splits the rest of a piece whenever the consumer applies backpressure
 * (quadratic), the readable one keeps queueing pieces while paused (the whole
 * file ends up in memory), and both decode Buffer pieces on their own,
 * splitting multi-byte characters at piece boundaries.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { CannotRunError } from '../errors.ts';
import type { SheetReader, SheetRow, SheetSource } from './source.ts';

const PIECE_BYTES = 1 << 16;

/** The line ending of the file: the first one outside quotes. */
function lineEnding(text: string): '\r\n' | '\n' | '\r' {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\n') return '\n';
    else if (!quoted && c === '\r') return text[i + 1] === '\n' ? '\r\n' : '\r';
  }
  return '\n';
}

export class CsvSheetSource implements SheetSource {
  readonly file: string;
  readonly description: string;
  constructor(file: string) {
    this.file = path.resolve(file);
    // Re-openable: a retry re-reads the buyer's row from the run's source.
    this.description = this.file;
  }

  async open(): Promise<SheetReader> {
    const file = this.file;
    try {
      await access(file);
    } catch (err) {
      throw new CannotRunError(
        `cannot read the sheet export ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        { cause: err },
      );
    }
    const input = createReadStream(file, { encoding: 'utf8', highWaterMark: PIECE_BYTES });
    const pieces = input[Symbol.asyncIterator]() as AsyncIterator<string>;
    let parser: Papa.Parser | null = null as Papa.Parser | null;
    let carry = '';
    let records = 0;

    /** The next batch of complete records, or null at the end of the file. */
    const nextRecords = async (): Promise<string[][] | null> => {
      for (;;) {
        let piece: IteratorResult<string>;
        try {
          piece = await pieces.next();
        } catch (err) {
          throw new CannotRunError(`reading the sheet export ${file} failed: ${(err as Error).message}`, { cause: err });
        }
        if (piece.done && carry === '') return null;
        let text = carry + (piece.done ? '' : piece.value);
        if (parser === null) {
          // A BOM goes before anything is parsed: `\uFEFF"Buyer Number"` would not read as a quoted field.
          if (text.startsWith('\uFEFF')) text = text.slice(1);
          parser = new Papa.Parser({ delimiter: ',', quoteChar: '"', newline: lineEnding(text) });
        }
        // A piece that ends between the \r and the \n of a line ending keeps the \r for the next piece.
        const held = !piece.done && text.endsWith('\r') ? '\r' : '';
        if (held) text = text.slice(0, -1);
        const result = parser.parse(text, 0, !piece.done) as Papa.ParseResult<string[]>;
        // Problems in the unfinished last record are not problems yet: it is parsed again with the next piece.
        const broken = result.errors.find((e) => e.type === 'Quotes' && (piece.done || (e.row ?? 0) < result.data.length));
        if (broken) {
          throw new CannotRunError(
            `the sheet export ${file} is not valid CSV: ${broken.message.toLowerCase()} in record ${records + (broken.row ?? 0) + 1}`,
          );
        }
        carry = piece.done ? '' : text.slice(result.meta.cursor) + held;
        records += result.data.length;
        if (result.data.length > 0 || piece.done) return result.data;
      }
    };

    // The header is the first record.
    let first: string[][] | null = [];
    while (first !== null && first.length === 0) first = await nextRecords();
    const header = first === null ? [] : first.shift()!;

    async function* rows(): AsyncGenerator<SheetRow[]> {
      let rowNumber = 1;
      let batch: string[][] | null = first;
      while (batch !== null) {
        if (batch.length > 0) yield batch.map((cells) => ({ rowNumber: ++rowNumber, cells }));
        batch = await nextRecords();
      }
    }

    return {
      header,
      rows: rows(),
      close: async () => {
        input.destroy();
      },
    };
  }
}
