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
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CannotRunError } from '../../errors.ts';
import { columnLetter } from '../../mapping/mapping.ts';
import type { OpenHint, SheetReader, SheetRow, SheetSource, SourceVersion } from '../source.ts';
import { bytesOf } from './bytes.ts';
import { chooseEncoding, type EncodingRequest } from './detect.ts';
import { createDecoder, ENCODING_LABEL } from './encoding.ts';
import { CsvRecordParser, CsvSyntaxError, looksLikeSwallowedRow, type CsvLimits, type CsvRecord } from './records.ts';

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
  regular: boolean;
}

async function fingerprint(file: string): Promise<Fingerprint> {
  const s = await stat(file);
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, regular: s.isFile() };
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

  /**
   * The export's version: a hash of its bytes (and its size). Reading the
   * bytes once costs a fraction of parsing them; an export that did not
   * change need not be synced again (unchanged.ts). A file that cannot be
   * read has no version: the sync then says why.
   */
  async version(): Promise<SourceVersion> {
    try {
      const digest = createHash('sha256');
      let size = 0;
      for await (const piece of bytesOf(this.file)) {
        digest.update(piece);
        size += piece.length;
      }
      const as = this.options.encoding ? `, read as ${this.options.encoding.encoding}` : '';
      return { version: `sha256 ${digest.digest('hex').slice(0, 32)}, ${size} bytes${as}`, modifiedTime: null };
    } catch (err) {
      return { unknown: `the export could not be read for its hash (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
  }

  async open(hint?: OpenHint): Promise<SheetReader> {
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
    if (!before.regular) {
      // The file is read twice (its encoding first, then its rows): a pipe or a device cannot be.
      throw new CannotRunError(`the sheet export ${file} is not a file (a directory, a pipe or a device); write the export to a file and pass that`);
    }
    const choice = await chooseEncoding(file, this.options.encoding, hint?.signal);
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
    const width = header.length;
    const swallowed = (r: CsvRecord): number | null => (width > 2 ? (r.multiline?.find((i) => looksLikeSwallowedRow(r.cells[i]!, width - 1)) ?? null) : null);

    /*
     * A spreadsheet writes every row as wide as the table. A record that is
     * not (cells missing, or text beyond the last column), or a quoted cell
     * that holds what looks like more rows, means the file's structure is
     * broken: a line break or a comma outside quotes, a quote opened by
     * mistake, a file cut short. Guessing would put one buyer's data into
     * another's row, or make a buyer of a note, so the file is refused.
     */
    const broken = (rowNumber: number, r: CsvRecord): CannotRunError | null => {
      const gulp = swallowed(r);
      const what =
        gulp !== null
          ? `its quoted cell in column ${columnLetter(gulp)} holds what looks like more rows (a line with ${width - 1} commas): a quote opened by mistake?`
          : r.cells.length < width && !r.cells.every((c) => c.trim() === '')
            ? `it has ${r.cells.length} cell(s) where the header has ${width} (a line break outside quotes, or a file cut short?)`
            : r.cells.length > width && r.cells.slice(width).some((c) => c.trim() !== '')
              ? `it has text in column ${columnLetter(r.cells.slice(width).findIndex((c) => c.trim() !== '') + width)}, beyond the header's ${width} columns (a comma outside quotes?)`
              : null;
      return what === null
        ? null
        : new CannotRunError(`the sheet export ${file} is not a whole table: row ${rowNumber}: ${what}; nothing was written, fix the file and export it again`);
    };

    async function* rows(): AsyncGenerator<SheetRow[]> {
      let rowNumber = 1;
      let batch: CsvRecord[] | null = first;
      while (batch !== null) {
        if (batch.length > 0) {
          const out: SheetRow[] = new Array(batch.length);
          for (let i = 0; i < batch.length; i++) {
            const r = batch[i]!;
            rowNumber++;
            if (r.cells.length !== width || r.multiline !== null) {
              const err = broken(rowNumber, r);
              if (err) {
                input.destroy();
                throw err;
              }
            }
            out[i] = r.oversized ? { rowNumber, cells: r.cells, oversized: r.oversized } : { rowNumber, cells: r.cells };
          }
          yield out;
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
