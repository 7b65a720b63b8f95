/**
 * A sheet held in memory: tests, and callers that already hold the rows.
 * Its values are taken as the Sheets API gives them (a bare number in a date
 * column is a serial day number) unless told otherwise.
 */
import type { SheetFormat, SheetReader, SheetRow, SheetSource } from './source.ts';

export class ArraySheetSource implements SheetSource {
  readonly description: string;
  private readonly header: string[];
  private readonly data: string[][];
  private readonly format: SheetFormat;
  constructor(header: string[], rows: string[][], description = 'memory', format: Partial<SheetFormat> = {}) {
    this.header = header;
    this.data = rows;
    this.description = description;
    this.format = { encoding: null, dateSerials: true, ...format };
  }

  async open(): Promise<SheetReader> {
    const data = this.data;
    async function* rows(): AsyncGenerator<SheetRow[]> {
      const chunk = 500;
      for (let i = 0; i < data.length; i += chunk) {
        yield data.slice(i, i + chunk).map((cells, j) => ({ rowNumber: i + j + 2, cells }));
      }
    }
    return { header: [...this.header], rows: rows(), format: this.format, warnings: [], close: async () => undefined };
  }
}
