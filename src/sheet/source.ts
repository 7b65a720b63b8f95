/**
 * A sheet source yields the header row and then the data rows, streamed in
 * chunks, each row with the sheet's own row number (the header is row 1).
 * The CSV export and the Google Sheets API are two implementations.
 */
export interface SheetRow {
  rowNumber: number;
  /** Cell texts as the sheet shows them; a row may be shorter than the header (ragged). */
  cells: string[];
}

export interface SheetReader {
  /** The header row (row 1). */
  header: string[];
  /** The data rows, in sheet order, in chunks. */
  rows: AsyncIterable<SheetRow[]>;
  /** Releases resources early (when the consumer stops before the end). */
  close(): Promise<void>;
}

/** What a source may want to know to read values faithfully. */
export interface OpenHint {
  /** The type the column mapping gives each header cell (null: unmapped). */
  columnTypes?: (header: string[]) => ('text' | 'date' | 'bigint' | null)[];
  /** Whether a header cell is the buyer-number column. */
  isKey?: (header: string) => boolean;
}

export interface SheetSource {
  /** What the run records as its source (re-openable); never contains credentials. */
  readonly description: string;
  open(hint?: OpenHint): Promise<SheetReader>;
}
