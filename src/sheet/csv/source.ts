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
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { CannotRunError } from '../../errors.ts';
import { columnLetter } from '../../mapping/mapping.ts';
import type { OpenHint, SheetReader, SheetRow, SheetSource, SourceVersion } from '../source.ts';
import { bytesOf } from './bytes.ts';
import { chooseEncoding, type EncodingChoice, type EncodingRequest } from './detect.ts';
import { createDecoder, ENCODING_LABEL, type StreamDecoder } from './encoding.ts';
import { CsvRecordParser, CsvSyntaxError, type CsvLimits, type CsvRecord } from './records.ts';
import { quotedPath } from '../../paths.ts';

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

/** Stats the export before it is read, refusing what cannot be read twice (its encoding first, then its rows). */
async function fingerprintToRead(file: string): Promise<Fingerprint> {
  let before: Fingerprint;
  try {
    before = await fingerprint(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CannotRunError(
      `cannot read the sheet export ${quotedPath(file)}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
      { cause: err },
    );
  }
  if (!before.regular) {
    // The file is read twice (its encoding first, then its rows): a pipe or a device cannot be.
    throw new CannotRunError(
      `the sheet export ${quotedPath(file)} is not a file (a directory, a pipe or a device); write the export to a file and pass that`,
    );
  }
  return before;
}

/** A read that failed: the CSV grammar's refusal naming the row, or the error reading the file. */
function unreadable(file: string, err: unknown): CannotRunError {
  return err instanceof CsvSyntaxError
    ? new CannotRunError(
        `the sheet export ${quotedPath(file)} is not valid CSV: row ${err.record}: ${err.message}; nothing was written`,
      )
    : new CannotRunError(`reading the sheet export ${quotedPath(file)} failed: ${(err as Error).message}`, {
        cause: err,
      });
}

/**
 * The export's records, a piece at a time, at the consumer's pace. After the
 * last piece the file must still be the one that was opened: an export
 * overwritten while it was read is refused, never half-synced.
 */
class ExportRecords {
  private readonly file: string;
  private readonly before: Fingerprint;
  private readonly input: ReadStream;
  private readonly pieces: AsyncIterator<Buffer>;
  private readonly decoder: StreamDecoder;
  private readonly parser: CsvRecordParser;
  private finished = false;

  constructor(
    file: string,
    before: Fingerprint,
    choice: EncodingChoice,
    options: { pieceBytes: number; limits: CsvLimits },
  ) {
    this.file = file;
    this.before = before;
    this.decoder = createDecoder(choice.encoding);
    this.parser = new CsvRecordParser(options.limits);
    this.input = createReadStream(file, { start: choice.skip, highWaterMark: options.pieceBytes });
    this.pieces = this.input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The records the next piece completes (possibly none), or null at the end of the file. */
  async next(): Promise<CsvRecord[] | null> {
    if (this.finished) return null;
    const out: CsvRecord[] = [];
    try {
      const piece = await this.pieces.next();
      if (piece.done) {
        this.finished = true;
        this.parser.push(this.decoder.decode(new Uint8Array(0), true), out);
        this.parser.end(out);
        await this.assertUnchanged();
      } else {
        this.parser.push(this.decoder.decode(piece.value, false), out);
      }
    } catch (err) {
      this.input.destroy();
      throw err instanceof CannotRunError ? err : unreadable(this.file, err);
    }
    return out;
  }

  private async assertUnchanged(): Promise<void> {
    const after = await fingerprint(this.file);
    const { before } = this;
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ino !== before.ino) {
      throw new CannotRunError(
        `the sheet export ${quotedPath(this.file)} changed while it was being read; nothing was written, run the sync again once the file is complete`,
      );
    }
  }

  destroy(): void {
    this.input.destroy();
  }
}

/*
 * A spreadsheet writes every row as wide as the table. A record that is
 * not (cells missing, or text beyond the last column) means the file's
 * structure is broken: a line break or a comma outside quotes, a file cut
 * short. Guessing would put one buyer's data into another's row, so the
 * file is refused. Nothing else is: a record the grammar accepts, as wide
 * as the header, is a row, whatever its quoted cells hold (lines of
 * prose with commas on every line included).
 */
function brokenRecord(file: string, width: number, rowNumber: number, r: CsvRecord): CannotRunError | null {
  const what =
    r.cells.length < width && !r.cells.every((c) => c.trim() === '')
      ? `it has ${r.cells.length} cell(s) where the header has ${width}, columns ${columnLetter(r.cells.length)} onwards missing (a line break outside quotes, or a file cut short?)`
      : r.cells.length > width && r.cells.slice(width).some((c) => c.trim() !== '')
        ? `it has text in column ${columnLetter(r.cells.slice(width).findIndex((c) => c.trim() !== '') + width)}, beyond the header's ${width} columns (a comma outside quotes?)`
        : null;
  return what === null
    ? null
    : new CannotRunError(
        `the sheet export ${quotedPath(file)} is not a whole table: row ${rowNumber}: ${what}; every row of a CSV export has as many cells as its header; ` +
          'nothing was written, fix the file and export it again',
      );
}

/** The data rows, numbered from 2 (the header is row 1), starting with the records read along with the header. */
async function* sheetRows(
  file: string,
  records: ExportRecords,
  first: CsvRecord[] | null,
  width: number,
): AsyncGenerator<SheetRow[]> {
  let rowNumber = 1;
  let batch: CsvRecord[] | null = first;
  while (batch !== null) {
    if (batch.length > 0) {
      const out: SheetRow[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i]!;
        rowNumber++;
        if (r.cells.length !== width) {
          const err = brokenRecord(file, width, rowNumber, r);
          if (err) {
            records.destroy();
            throw err;
          }
        }
        out[i] = r.oversized ? { rowNumber, cells: r.cells, oversized: r.oversized } : { rowNumber, cells: r.cells };
      }
      yield out;
    }
    batch = await records.next();
  }
}

/** Bytes the chosen encoding cannot decode are the operator's to hear of once: their rows fail on their own. */
function invalidBytesWarnings(choice: EncodingChoice): string[] {
  if (choice.invalid === 0) return [];
  return [
    `the sheet export has ${choice.invalid.toLocaleString('en-US')} byte sequence(s) that are not valid ${ENCODING_LABEL[choice.encoding]}` +
      `${choice.firstInvalidLine !== null ? ` (the first on line ${choice.firstInvalidLine})` : ''}; the rows holding them fail as data_type`,
  ];
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
      return {
        unknown: `the export could not be read for its hash (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      };
    }
  }

  async open(hint?: OpenHint): Promise<SheetReader> {
    const file = this.file;
    const before = await fingerprintToRead(file);
    const choice = await chooseEncoding(file, this.options.encoding, hint?.signal);
    const records = new ExportRecords(file, before, choice, this.options);
    // The header is the first record.
    let first: CsvRecord[] | null = [];
    while (first !== null && first.length === 0) first = await records.next();
    const header = first === null ? [] : first.shift()!.cells;
    return {
      header,
      rows: sheetRows(file, records, first, header.length),
      format: {
        encoding: { name: choice.encoding, label: ENCODING_LABEL[choice.encoding], how: choice.how },
        dateSerials: false,
      },
      warnings: invalidBytesWarnings(choice),
      close: async () => {
        records.destroy();
      },
    };
  }
}
