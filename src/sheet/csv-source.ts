/**
 * CSV exports of the sheet: UTF-8 with or without a BOM, RFC 4180 quoting
 * (commas, quotes and newlines inside cells), ragged rows. Parsed by
 * papaparse a megabyte at a time: the file is never held in memory, and the
 * parser is paused while the sync is behind (backpressure).
 *
 * Two papaparse pitfalls are avoided on purpose: its Node duplex stream
 * re-splits the rest of a chunk every time the consumer applies backpressure
 * (quadratic), and it decodes each Buffer chunk on its own (splitting
 * multi-byte characters). So the file is decoded by Node and fed through
 * papaparse's chunk callback.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import Papa from 'papaparse';
import { CannotRunError } from '../errors.ts';
import type { SheetReader, SheetRow, SheetSource } from './source.ts';

/** Parsed chunks held ahead of the consumer before the parser pauses. */
const READ_AHEAD = 2;

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
    const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
    const queue: string[][][] = [];
    let finished = false;
    let failure: Error | null = null;
    let paused: Papa.Parser | null = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    let recordsSeen = 0;

    Papa.parse<string[]>(input as unknown as File, {
      delimiter: ',',
      quoteChar: '"',
      skipEmptyLines: false,
      chunk(results, parser) {
        const broken = results.errors.find((e) => e.type === 'Quotes');
        if (broken) {
          failure = new CannotRunError(
            `the sheet export ${file} is not valid CSV: ${broken.message.toLowerCase()} in record ${recordsSeen + (broken.row ?? 0) + 1}`,
          );
          parser.abort();
        }
        recordsSeen += results.data.length;
        queue.push(results.data);
        if (queue.length >= READ_AHEAD) {
          parser.pause();
          paused = parser;
        }
        notify();
      },
      complete() {
        finished = true;
        notify();
      },
      error(err: Error) {
        failure = new CannotRunError(`reading the sheet export ${file} failed: ${err.message}`, { cause: err });
        notify();
      },
    });

    async function nextRecords(): Promise<string[][] | null> {
      for (;;) {
        if (failure) throw failure;
        const records = queue.shift();
        if (records) {
          if (paused && queue.length < READ_AHEAD) {
            const p = paused;
            paused = null;
            p.resume();
          }
          return records;
        }
        if (finished) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }

    // The header is the first record.
    let first: string[][] | null = [];
    while (first !== null && first.length === 0) first = await nextRecords();
    const header = first === null ? [] : first.shift()!;
    if (header.length > 0 && header[0]!.startsWith('\uFEFF')) header[0] = header[0]!.slice(1);

    async function* rows(): AsyncGenerator<SheetRow[]> {
      let rowNumber = 1;
      let records: string[][] | null = first;
      while (records !== null) {
        if (records.length > 0) yield records.map((cells) => ({ rowNumber: ++rowNumber, cells }));
        records = await nextRecords();
      }
    }

    return {
      header,
      rows: rows(),
      close: async () => {
        finished = true;
        input.destroy();
        notify();
      },
    };
  }
}
