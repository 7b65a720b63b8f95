/**
 * The column mapping is data (db/sheet-mapping.json, or BUYER_SYNC_MAPPING):
 * sheet header -> buyers column -> type. This module loads and checks it, and
 * resolves a sheet's header row against it before anything is written.
 */
import { readFileSync } from 'node:fs';
import { CannotRunError, UsageError } from '../errors.ts';
import { quotedPath } from '../paths.ts';

export const COLUMN_TYPES = ['text', 'date', 'bigint'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnMapping {
  header: string;
  column: string;
  type: ColumnType;
  /** A required header must be on the sheet (default true). Optional ones, when absent, leave their column untouched. */
  required: boolean;
}

export interface Mapping {
  table: string;
  key: string;
  columns: ColumnMapping[];
  /** Where the mapping came from (its file), for messages. */
  origin: string;
}

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Header matching: case-insensitive, surrounding whitespace (and a BOM) ignored. */
export function normaliseHeader(header: string): string {
  return header
    .replace(/^\uFEFF/, '')
    .trim()
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

export function parseMapping(raw: unknown, origin: string): Mapping {
  const fail = (what: string): never => {
    throw new UsageError(`column mapping ${origin}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) fail('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const table = obj.table ?? 'buyers';
  const key = obj.key;
  if (typeof table !== 'string' || !IDENT.test(table)) fail('"table" must be a lowercase SQL identifier');
  if (typeof key !== 'string') fail('"key" must name the key column');
  if (!Array.isArray(obj.columns) || obj.columns.length === 0) fail('"columns" must be a non-empty array');
  const columns = (obj.columns as unknown[]).map((c, i): ColumnMapping => {
    const where = `columns[${i}]`;
    if (typeof c !== 'object' || c === null) return fail(`${where} must be an object`);
    const { header, column, type, required } = c as Record<string, unknown>;
    if (typeof header !== 'string' || header.trim() === '') fail(`${where}.header must be a non-empty string`);
    if (typeof column !== 'string' || !IDENT.test(column)) fail(`${where}.column must be a lowercase SQL identifier`);
    if (!COLUMN_TYPES.includes(type as ColumnType)) fail(`${where}.type must be one of ${COLUMN_TYPES.join(', ')}`);
    if (required !== undefined && typeof required !== 'boolean') fail(`${where}.required must be true or false`);
    return {
      header: (header as string).trim(),
      column: column as string,
      type: type as ColumnType,
      required: (required as boolean | undefined) ?? true,
    };
  });
  const seenHeaders = new Set<string>();
  const seenColumns = new Set<string>();
  for (const c of columns) {
    const h = normaliseHeader(c.header);
    if (seenHeaders.has(h)) fail(`header "${c.header}" is mapped twice`);
    if (seenColumns.has(c.column)) fail(`column "${c.column}" is mapped twice`);
    seenHeaders.add(h);
    seenColumns.add(c.column);
  }
  const keyColumn = columns.find((c) => c.column === key);
  if (!keyColumn) fail(`the key column "${String(key)}" is not mapped`);
  if (keyColumn!.type !== 'text') fail(`the key column "${String(key)}" must have type text`);
  keyColumn!.required = true;
  return { table: table as string, key: key as string, columns, origin };
}

export function loadMapping(file: string): Mapping {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`column mapping ${quotedPath(file)}: ${(err as Error).message}`);
  }
  return parseMapping(raw, file);
}

export interface ResolvedColumn extends ColumnMapping {
  /** Index of the column's cell in a sheet row. */
  index: number;
}

export interface HeaderResolution {
  /** Mapped columns present on the sheet, in mapping order. */
  columns: ResolvedColumn[];
  /** Index of the key column's cell. */
  keyIndex: number;
  /** Sheet headers that map to no column (schema drift, reported as a warning). */
  unknownHeaders: string[];
  /** Unmapped headers that appear more than once (ignored like any unmapped column; a warning). */
  repeatedUnknownHeaders: string[];
  /** Optional mapped headers absent from the sheet (their columns are left untouched). */
  absentOptional: string[];
}

/**
 * Matches the sheet's header row against the mapping. A missing required
 * header or a mapped header that appears twice stops the run before anything
 * is written (exit 3, naming the header); an unmapped header, repeated or
 * not, is only reported.
 */
export function resolveHeader(mapping: Mapping, header: string[]): HeaderResolution {
  const positions = new Map<string, number[]>();
  header.forEach((h, i) => {
    const n = normaliseHeader(h);
    if (n === '') return;
    const at = positions.get(n);
    if (at) at.push(i);
    else positions.set(n, [i]);
  });
  /*
   * Row 1 may not be a header at all (a sorted sheet, the wrong tab): these
   * messages never repeat a cell of it unless it is one of the mapping's headers.
   */
  const mapped = new Map(mapping.columns.map((c) => [normaliseHeader(c.header), c.header]));
  const duplicates = [...positions].filter(([name, at]) => at.length > 1 && mapped.has(name));
  if (duplicates.length > 0) {
    const [name, at] = duplicates[0]!;
    throw new CannotRunError(
      `the sheet's header "${mapped.get(name)}" appears ${at.length} times (columns ${at.map(columnLetter).join(', ')}); rename or remove the extra one` +
        (duplicates.length > 1 ? ` (${duplicates.length - 1} more mapped header(s) repeat too)` : ''),
    );
  }
  const missing = mapping.columns.filter((c) => c.required && !positions.has(normaliseHeader(c.header)));
  if (missing.length > 0) {
    const unusable = unusableHeaderRow(mapping, header);
    if (unusable) throw unusable;
    const known = mapping.columns.filter((c) => positions.has(normaliseHeader(c.header))).length;
    const undecodable = header.some((h) => !h.isWellFormed());
    throw new CannotRunError(
      `the sheet has no ${missing.map((c) => `"${c.header}"`).join(', ')} column${missing.length > 1 ? 's' : ''} ` +
        `(required by the column mapping; row 1 has ${header.length} cells, ${known} of them known headers` +
        `${known === 0 ? ': is row 1 the header row, and is this the right tab?' : ''}` +
        `${undecodable ? '; row 1 holds bytes its encoding cannot decode: is --encoding right?' : ''})`,
    );
  }
  const columns: ResolvedColumn[] = [];
  const absentOptional: string[] = [];
  for (const c of mapping.columns) {
    const at = positions.get(normaliseHeader(c.header));
    if (at) columns.push({ ...c, index: at[0]! });
    else absentOptional.push(c.header);
  }
  const keyIndex = columns.find((c) => c.column === mapping.key)!.index;
  const unknownHeaders: string[] = [];
  const repeatedUnknownHeaders: string[] = [];
  for (const [name, at] of positions) {
    if (mapped.has(name)) continue;
    unknownHeaders.push(header[at[0]!]!.trim());
    if (at.length > 1) repeatedUnknownHeaders.push(header[at[0]!]!.trim());
  }
  return { columns, keyIndex, unknownHeaders, repeatedUnknownHeaders, absentOptional };
}

/**
 * A row 1 that cannot be a header row at all, said plainly instead of as a
 * list of every missing header: an empty one (an empty export, a blank first
 * row), or the mapping's headers separated by tabs (Excel's "Unicode text"
 * read as CSV). Null for any other row 1. Every reader of the header row asks
 * (a sync, `missing`, the health check). Never repeats a cell of the row.
 */
export function unusableHeaderRow(mapping: Mapping, header: readonly string[]): CannotRunError | null {
  if (header.every((cell) => normaliseHeader(cell) === '')) {
    return new CannotRunError(
      `row 1 of the sheet is empty, and the header row ("${mapping.columns[0]!.header}", …) must be row 1: ` +
        `is the export empty, or is this the right tab?`,
    );
  }
  if (tabSeparatedHeaders(mapping, header)) {
    return new CannotRunError(
      `row 1 holds the mapping's headers separated by tabs, not commas (Excel's "Unicode text" export?): ` +
        `save the sheet as "CSV UTF-8 (Comma delimited)" and sync that file`,
    );
  }
  return null;
}

/**
 * Whether row 1 is a tab-separated header read as comma-separated: no cell
 * is a mapped header, but split at its tabs, at least two of the pieces are.
 */
function tabSeparatedHeaders(mapping: Mapping, header: readonly string[]): boolean {
  const mapped = new Set(mapping.columns.map((c) => normaliseHeader(c.header)));
  if (header.some((cell) => mapped.has(normaliseHeader(cell)))) return false;
  let known = 0;
  for (const cell of header) {
    if (!cell.includes('\t')) continue;
    for (const piece of cell.split('\t')) if (mapped.has(normaliseHeader(piece))) known++;
  }
  return known >= 2;
}

/** Spreadsheet column letters: 0 -> A, 25 -> Z, 26 -> AA. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
