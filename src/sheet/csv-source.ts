/**
 * CSV exports of the sheet: UTF-8 with or without a BOM, RFC 4180 quoting
 * (commas, quotes and newlines inside cells), ragged rows. Parsed by
 * papaparse as a stream: the file is never held in memory.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { CannotRunError } from '../errors.ts';
import type { SheetReader, SheetRow, SheetSource } from './source.ts';

const CHUNK_ROWS = 1000;

export class CsvSheetSource implements SheetSource {
  readonly file: string;
  readonly description: string;
  constructor(file: string) {
    this.file = path.resolve(file);
    // Re-openable: a retry re-reads the buyer's row from the run's source.
    this.description = this.file;
  }

  async open(): Promise<SheetReader> {
    try {
      await access(this.file);
    } catch (err) {
      throw new CannotRunError(`cannot read the sheet export ${this.file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
    }
    const input = createReadStream(this.file);
    const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter: ',', quoteChar: '"', skipEmptyLines: false });
    const records: AsyncIterator<string[]> = input.pipe(parser)[Symbol.asyncIterator]();
    input.on('error', (err) => parser.destroy(err));

    const first = await next(records, this.file);
    const header = first ?? [];
    if (header.length > 0 && header[0]!.startsWith('\uFEFF')) header[0] = header[0]!.slice(1);
    const file = this.file;

    async function* chunks(): AsyncGenerator<SheetRow[]> {
      let rowNumber = 1;
      let chunk: SheetRow[] = [];
      for (;;) {
        const cells = await next(records, file);
        if (cells === undefined) break;
        rowNumber++;
        chunk.push({ rowNumber, cells });
        if (chunk.length >= CHUNK_ROWS) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    }

    return {
      header,
      rows: chunks(),
      close: async () => {
        input.destroy();
        parser.destroy();
      },
    };
  }
}

async function next(records: AsyncIterator<string[]>, file: string): Promise<string[] | undefined> {
  try {
    const r = await records.next();
    return r.done ? undefined : r.value;
  } catch (err) {
    throw new CannotRunError(`reading the sheet export ${file} failed: ${(err as Error).message}`, { cause: err });
  }
}
