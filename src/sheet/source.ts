/**
 * A sheet source yields the header row and then the data rows, streamed in
 * chunks, each row with the sheet's own row number (the header is row 1).
 * The CSV export and the Google Sheets API are two implementations.
 */

/** A cell whose text a source did not keep because it was too long; its row fails as field_length. */
export interface OversizedCell {
  /** The cell's index in its row. */
  index: number;
  /** Its length in UTF-16 code units. */
  length: number;
  /** The limit it broke, and whether it is the limit of a cell or of a whole row. */
  limit: number;
  of: 'cell' | 'row';
}

export interface SheetRow {
  rowNumber: number;
  /** Cell texts as the sheet shows them; a row may be shorter than the header (ragged). */
  cells: string[];
  /** Cells too long to keep (their text in `cells` is ''), if any. */
  oversized?: OversizedCell[] | null;
}

/** How a source's values are to be read. */
export interface SheetFormat {
  /**
   * The character encoding of a file source and how it was chosen (byte order
   * mark, detected, --encoding, SHEET_ENCODING); null for the Sheets API.
   */
  encoding: { name: string; label: string; how: string } | null;
  /**
   * Whether a bare number in a date column is a serial day number. The Sheets
   * API renders dates so; a CSV export carries dates as the sheet shows them,
   * so there `2024` is not a date.
   */
  dateSerials: boolean;
}

export interface SheetReader {
  /** The header row (row 1). */
  header: string[];
  /** The data rows, in sheet order, in chunks. */
  rows: AsyncIterable<SheetRow[]>;
  format: SheetFormat;
  /** What the operator should know about the source itself (never a cell value). */
  warnings: string[];
  /** Releases resources early (when the consumer stops before the end). */
  close(): Promise<void>;
}

/** What a source may want to know to read values faithfully. */
export interface OpenHint {
  /** The type the column mapping gives each header cell (null: unmapped). */
  columnTypes?: (header: string[]) => ('text' | 'date' | 'bigint' | null)[];
  /** Whether a header cell is the buyer-number column. */
  isKey?: (header: string) => boolean;
  /** Stops a long read (Ctrl-C, a worker shutting down). */
  signal?: AbortSignal;
}

export interface SheetSource {
  /** What the run records as its source (re-openable); never contains credentials. */
  readonly description: string;
  /** Opens the sheet; a source may keep what it read for the next open within the same run. */
  open(hint?: OpenHint): Promise<SheetReader>;
  /** Lets go of whatever the source kept between opens (a snapshot of the sheet): the run is over. */
  release?(): Promise<void>;
  /**
   * The sheet's version without reading it (a Google sheet: Drive's file
   * version), or why it is not known; absent when the source has none.
   */
  version?(): Promise<SourceVersion>;
}

/** A source's version, or why it could not be had (then the sheet is read in full). */
export type SourceVersion = { version: string; modifiedTime: string | null } | { unknown: string };
