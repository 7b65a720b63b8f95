/** A sheet held in memory (tests, and sources that must read everything before a run starts). */
import type { SheetReader, SheetRow, SheetSource } from './source.ts';

export class ArraySheetSource implements SheetSource {
  readonly description: string;
  private readonly header: string[];
  private readonly data: string[][];
  constructor(header: string[], rows: string[][], description = 'memory') {
    this.header = header;
    this.data = rows;
    this.description = description;
  }

  async open(): Promise<SheetReader> {
    const data = this.data;
    async function* rows(): AsyncGenerator<SheetRow[]> {
      const chunk = 500;
      for (let i = 0; i < data.length; i += chunk) {
        yield data.slice(i, i + chunk).map((cells, j) => ({ rowNumber: i + j + 2, cells }));
      }
    }
    return { header: [...this.header], rows: rows(), close: async () => undefined };
  }
}
