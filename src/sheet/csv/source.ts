/**
 * CSV exports of the sheet, as people really produce them: Google's export,
 * Excel's "CSV" (Shift_JIS on a Japanese Windows) and "CSV UTF-8" (with a
 * byte order mark), UTF-16 text exports, files edited on several machines
 * (mixed line endings), huge cells.
 *
 * Streamed: the file is read `pieceBytes` at a time, decoded (encoding.ts)
 * and parsed into records (records.ts) as it comes, at the consumer's pace;
 * nothing holds the whole file. Before the first row the whole file is
 * checked once for its encoding (detect.ts), and after the last row the file
 * must still be the one that was opened: an export overwritten while the sync
 * read it is refused, never half-synced.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CannotRunError } from '../../errors.ts';
import type { SheetReader, SheetRow, SheetSource } from '../source.ts';
import { chooseEncoding, type EncodingRequest } from './detect.ts';
import { createDecoder, ENCODING_LABEL } from './encoding.ts';
import { CsvRecordParser, CsvSyntaxError, type CsvLimits, type CsvRecord } from './records.ts';

/**
 * The longest cell kept: 32 Mi characters (Google Sheets allows 50,000 in a
 * cell, Excel 32,767). A longer one fails its row as field_length.
 */
export const MAX_CELL_LENGTH = 32 * 2 ** 20;
/** The longest row kept, all cells together: 64 Mi characters. */
export const MAX_ROW_LENGTH = 64 * 2 ** 20;

export interface CsvSourceOptions {
  /** --encoding / SHEET_ENCODING; null: decided from the file. */
  encoding?: EncodingRequest | null;
  /** Bytes read at a time (tests make it tiny to cut characters and line endings apart). */
  pieceBytes?: number;
  limits?: CsvLimits;
}

interface Fingerprint {
  size: number;
  mtimeMs: number;
  ino: number;
}

async function fingerprint(file: string): Promise<Fingerprint> {
  const s = await stat(file);
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
}

export class CsvSheetSource implements SheetSource {
  readonly file: string;
  readonly description: string;
  private readonly options: Required<Omit<CsvSourceOptions, 'encoding'>> & { encoding: EncodingRequest | null };
  constructor(file: string, options: CsvSourceOptions = {}) {
    this.file = path.resolve(file);
    // Re-openable: a retry re-reads the buyer's row from the run's source.
    this.description = this.file;
    this.options = {
      encoding: options.encoding ?? null,
      pieceBytes: options.pieceBytes ?? 1 << 16,
      limits: options.limits ?? { maxCellLength: MAX_CELL_LENGTH, maxRecordLength: MAX_ROW_LENGTH },
    };
  }

  async open(): Promise<SheetReader> {
    const file = this.file;
    let before: Fingerprint;
    try {
      before = await fingerprint(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CannotRunError(
        `cannot read the sheet export ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
        { cause: err },
      );
    }
    const choice = await chooseEncoding(file, this.options.encoding);
    const decoder = createDecoder(choice.encoding);
    const parser = new CsvRecordParser(this.options.limits);
    const input = createReadStream(file, { start: choice.skip, highWaterMark: this.options.pieceBytes });
    const pieces = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let finished = false;

    const unreadable = (err: unknown) =>
      err instanceof CsvSyntaxError
        ? new CannotRunError(`the sheet export ${file} is not valid CSV: row ${err.record}: ${err.message}; nothing was written`)
        : new CannotRunError(`reading the sheet export ${file} failed: ${(err as Error).message}`, { cause: err });

    /** The records the next piece completes (possibly none), or null at the end of the file. */
    const nextRecords = async (): Promise<CsvRecord[] | null> => {
      if (finished) return null;
      const out: CsvRecord[] = [];
      try {
        const piece = await pieces.next();
        if (piece.done) {
          finished = true;
          parser.push(decoder.decode(new Uint8Array(0), true), out);
          parser.end(out);
          const after = await fingerprint(file);
          if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino) {
            throw new CannotRunError(
              `the sheet export ${file} changed while it was being read; nothing was written, run the sync again once the file is complete`,
            );
          }
        } else {
          parser.push(decoder.decode(piece.value, false), out);
        }
      } catch (err) {
        input.destroy();
        throw err instanceof CannotRunError ? err : unreadable(err);
      }
      return out;
    };

    // The header is the first record.
    let first: CsvRecord[] | null = [];
    while (first !== null && first.length === 0) first = await nextRecords();
    const header = first === null ? [] : first.shift()!.cells;

    async function* rows(): AsyncGenerator<SheetRow[]> {
      let rowNumber = 1;
      let batch: CsvRecord[] | null = first;
      while (batch !== null) {
        if (batch.length > 0) {
          yield batch.map((r) => (r.oversized ? { rowNumber: ++rowNumber, cells: r.cells, oversized: r.oversized } : { rowNumber: ++rowNumber, cells: r.cells }));
        }
        batch = await nextRecords();
      }
    }

    const label = ENCODING_LABEL[choice.encoding];
    const warnings =
      choice.invalid > 0
        ? [
            `the sheet export has ${choice.invalid.toLocaleString('en-US')} byte sequence(s) that are not valid ${label}` +
              `${choice.firstInvalidLine !== null ? ` (the first on line ${choice.firstInvalidLine})` : ''}; the rows holding them fail as data_type`,
          ]
        : [];
    return {
      header,
      rows: rows(),
      format: { encoding: { name: choice.encoding, label, how: choice.how }, dateSerials: false },
      warnings,
      close: async () => {
        input.destroy();
      },
    };
  }
}
