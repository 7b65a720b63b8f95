/**
 * The row rules of contract.md, as pure functions: a sheet row in, either a
 * blank, a typed row ready to write (its content hash on demand), or an error that
 * names the row, the column and the rule, and never the cell's value.
 */
import type { HeaderResolution, ResolvedColumn } from '../mapping/mapping.ts';
import { characterCount } from '../printable.ts';
import { countLoneSurrogates } from '../sheet/csv/encoding.ts';
import type { OversizedCell, SheetFormat } from '../sheet/source.ts';
import { contentHash, hashPart } from './content-hash.ts';
import type { ErrorType } from './error-types.ts';
import { foldKey } from './lookalikes.ts';

/** What the rules need to know besides a row: the header, the source's format, the key's limit. */
export interface RowRules {
  header: HeaderResolution;
  /** The longest buyer number, in characters (buyer_sync.buyer_number_max_length()). */
  keyMaxLength: number;
  /** A bare number in a date column is a serial day number (the Sheets API) or no date at all (a CSV export). */
  dateSerials: boolean;
  /** The CSV export's encoding, named when a cell holds bytes it cannot decode; null for the Sheets API. */
  encodingLabel: string | null;
  /**
   * In the Japanese legacy encodings the byte 0x5C is the yen sign: Shift_JIS
   * as Japanese Windows shows it, and EUC-JP whose single-byte half is JIS X
   * 0201 Roman on the Japanese Unix systems that write it. Every standard
   * decoder turns the byte into a backslash, so in such an export a budget
   * may start with `\`.
   */
  yenBackslash: boolean;
}

export function rowRules(header: HeaderResolution, format: SheetFormat, keyMaxLength: number): RowRules {
  return {
    header,
    keyMaxLength,
    dateSerials: format.dateSerials,
    encodingLabel: format.encoding?.label ?? null,
    yenBackslash: format.encoding?.name === 'shift_jis' || format.encoding?.name === 'euc-jp',
  };
}

/** A typed value as sent to PostgreSQL: text, ISO date (YYYY-MM-DD) or a bigint's decimal digits. */
export type Value = string | null;

export interface ValidRow {
  readonly rowNumber: number;
  readonly key: string;
  /** One value per resolved column, in resolution order. */
  readonly values: Value[];
  /** Content hash over the values; equal to buyer_sync's SQL hash of the same buyers row. */
  readonly hash: string;
}

/**
 * A row that passed the rules. Its content hash is computed when first asked
 * for: only a buyer the database already holds is compared, so a new buyer
 * (every row of a first sync) never costs one.
 */
class TypedRow implements ValidRow {
  readonly rowNumber: number;
  readonly key: string;
  readonly values: Value[];
  private readonly columns: readonly ResolvedColumn[];
  private digest: string | null = null;
  constructor(rowNumber: number, key: string, values: Value[], columns: readonly ResolvedColumn[]) {
    this.rowNumber = rowNumber;
    this.key = key;
    this.values = values;
    this.columns = columns;
  }

  get hash(): string {
    if (this.digest === null) {
      const parts = new Array<string>(this.values.length);
      for (let i = 0; i < parts.length; i++) {
        const v = this.values[i] ?? null;
        const type = this.columns[i]!.type;
        parts[i] = hashPart(type, v, type === 'date' && v !== null ? isoDays(v) : null);
      }
      this.digest = contentHash(parts);
    }
    return this.digest;
  }
}

export interface RowProblem {
  rowNumber: number;
  /** The row's buyer number when it has a usable one. */
  buyerNumber: string | null;
  errorType: ErrorType;
  /** The mapped column of the first problem, if any. */
  column: string | null;
  message: string;
}

export type RowOutcome =
  { kind: 'blank'; rowNumber: number } | { kind: 'valid'; row: ValidRow } | { kind: 'invalid'; problem: RowProblem };

const FORMULA_ERROR = /^#(?:REF!|N\/A|VALUE!|DIV\/0!|NAME\?|NUM!|NULL!|ERROR!|SPILL!|CALC!|GETTING_DATA)$/;
const ISO_DATE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const SLASH_DATE = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/;
const SERIAL = /^\d{1,7}(?:\.\d+)?$/;
const AMOUNT = /^(-)?[¥￥$]?\s*(-)?(\d{1,3}(?:,\d{3})+|\d+)\s*円?$/;
const AMOUNT_SJIS = /^(-)?[¥￥$\\]?\s*(-)?(\d{1,3}(?:,\d{3})+|\d+)\s*円?$/;
const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;
/** Sheets' serial day number of 2000-01-01 (day 0 is 1899-12-30). */
const SERIAL_2000 = 36_526;
const MAX_SERIAL = 2_958_465; // 9999-12-31

export interface ParsedDate {
  /** YYYY-MM-DD, what PostgreSQL receives. */
  iso: string;
  /** Days since 2000-01-01, what the content hash uses (as SQL's `date - date` does). */
  days: number;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const EPOCH_2000_DAYS = 10_957; // 2000-01-01 in days since 1970-01-01

/** Days since 2000-01-01 of a date as parseDate writes it (YYYY-MM-DD). */
function isoDays(iso: string): number {
  return daysFromCivil(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)), Number(iso.slice(8, 10))) - EPOCH_2000_DAYS;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function isoFromDays(days: number): string {
  // civil_from_days, on days since 1970-01-01
  const z = days + EPOCH_2000_DAYS + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DD`, `YYYY/MM/DD` (one- or two-digit month and day), or, where the
 * source renders dates so (`serials`), a Sheets serial day number.
 */
export function parseDate(text: string, serials = true): ParsedDate | null {
  const m = ISO_DATE.exec(text) ?? SLASH_DATE.exec(text);
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    if (y < 1 || mo < 1 || mo > 12 || d < 1) return null;
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return null;
    return { iso: `${m[1]}-${pad2(mo)}-${pad2(d)}`, days: daysFromCivil(y, mo, d) - EPOCH_2000_DAYS };
  }
  if (serials && SERIAL.test(text)) {
    const serial = Math.floor(Number(text));
    if (serial > MAX_SERIAL) return null;
    const days = serial - SERIAL_2000;
    return { iso: isoFromDays(days), days };
  }
  return null;
}

/** An integer amount with optional thousands separators and ¥, $ or a trailing 円 (`yenBackslash`: or Shift_JIS's yen sign, `\\`). */
export function parseAmount(text: string, yenBackslash = false): { value: string } | { error: 'format' | 'range' } {
  const m = (yenBackslash ? AMOUNT_SJIS : AMOUNT).exec(text);
  if (!m || (m[1] && m[2])) return { error: 'format' };
  const n = BigInt((m[1] ?? m[2] ?? '') + m[3]!.replaceAll(',', ''));
  if (n < BIGINT_MIN || n > BIGINT_MAX) return { error: 'range' };
  return { value: n.toString() };
}

/**
 * What makes a (trimmed, non-empty) cell unusable whatever its column's type:
 * a formula error, or text PostgreSQL cannot store faithfully: a NUL, or
 * bytes the export's encoding cannot decode (lone surrogates, see
 * sheet/csv/encoding.ts). null when fine.
 */
export function cellProblem(text: string, encodingLabel: string | null): string | null {
  if (FORMULA_ERROR.test(text)) return `holds the formula error ${text}`;
  if (text.includes('\u0000')) return 'contains a NUL character, which PostgreSQL text cannot store';
  const bad = countLoneSurrogates(text);
  if (bad > 0) {
    return encodingLabel === null
      ? `contains malformed Unicode (${bad} lone surrogate${bad === 1 ? '' : 's'})`
      : `contains ${bad} byte sequence${bad === 1 ? ' that is' : 's that are'} not valid ${encodingLabel}`;
  }
  return null;
}

/** The length in characters (code points) of a text longer than `limit`, else null. */
function exceeds(text: string, limit: number): number | null {
  if (text.length <= limit) return null;
  const n = characterCount(text);
  return n > limit ? n : null;
}

function describeColumn(c: ResolvedColumn): string {
  return `column "${c.header}" (${c.column})`;
}

/** A rule a cell broke; a row's message names each, and its first gives the row's error type. */
interface BrokenRule {
  column: ResolvedColumn;
  rule: string;
  type: ErrorType;
}

/** Why a cell a source did not keep fails its row: too long for a cell, or in a row too long to keep. */
function oversizedRule(big: OversizedCell): string {
  return big.of === 'cell'
    ? `is ${big.length.toLocaleString('en-US')} characters long, more than the ${big.limit.toLocaleString('en-US')} a cell may hold`
    : `was not kept: the row is longer than the ${big.limit.toLocaleString('en-US')} characters a row may hold`;
}

/**
 * A (trimmed, non-empty, storable) cell as its column's type. A cell that is
 * not one adds the rule it broke and is null: its row fails, so the value is
 * never written.
 */
function typedValue(c: ResolvedColumn, text: string, rules: RowRules, broken: BrokenRule[]): Value {
  switch (c.type) {
    case 'text':
      return text;
    case 'date': {
      const d = parseDate(text, rules.dateSerials);
      if (d !== null) return d.iso;
      broken.push({
        column: c,
        rule: `is not a date (expected YYYY-MM-DD${rules.dateSerials ? ', YYYY/MM/DD or a Sheets serial day number' : ' or YYYY/MM/DD'}; the cell has ${characterCount(text)} characters)`,
        type: 'data_type',
      });
      return null;
    }
    case 'bigint': {
      const a = parseAmount(text, rules.yenBackslash);
      if (!('error' in a)) return a.value;
      broken.push({
        column: c,
        rule:
          a.error === 'range'
            ? 'is out of range for bigint'
            : `is not an integer amount (expected digits, optional thousands separators, ¥ or $ before or 円 after; the cell has ${characterCount(text)} characters)`,
        type: 'data_type',
      });
      return null;
    }
  }
}

/** A buyer number longer than buyer_sync allows fails its row, yet is still the row's buyer number (for the error log and the retry queue). */
function keyTooLong(c: ResolvedColumn, text: string, limit: number): BrokenRule | null {
  const length = exceeds(text, limit);
  if (length === null) return null;
  return {
    column: c,
    rule: `is ${length.toLocaleString('en-US')} characters long; a buyer number may have at most ${limit}`,
    type: 'field_length',
  };
}

/** A row with data and no buyer number breaks the key's rule before any other, so its error type is the key's. */
function missingKey(header: HeaderResolution, invisibleKey: boolean): BrokenRule {
  const keyColumn = header.columns.find((c) => c.index === header.keyIndex)!;
  const rule = invisibleKey
    ? 'holds only invisible characters (such as zero-width spaces) or spaces: the row has data but no buyer number'
    : 'is empty: the row has data but no buyer number';
  return { column: keyColumn, rule, type: 'constraint_violation' };
}

/** The row's one error: the first broken rule's type and column, every rule in the message, never a value. */
function invalidRow(rowNumber: number, buyerNumber: string | null, broken: readonly BrokenRule[]): RowOutcome {
  const first = broken[0]!;
  return {
    kind: 'invalid',
    problem: {
      rowNumber,
      buyerNumber,
      errorType: first.type,
      column: first.column.column,
      message: `row ${rowNumber}: ${broken.map((p) => `${describeColumn(p.column)} ${p.rule}`).join('; ')}`,
    },
  };
}

/**
 * Applies the row rules to one sheet row. Cells beyond the row's end (the
 * Sheets API omits trailing empty cells) are empty.
 */
export function parseRow(
  rowNumber: number,
  cells: readonly string[],
  rules: RowRules,
  oversized?: readonly OversizedCell[] | null,
): RowOutcome {
  const { header } = rules;
  const { columns } = header;
  const values: Value[] = new Array(columns.length);
  const broken: BrokenRule[] = [];
  let empty = true;
  let key: string | null = null;
  let keyUsable = true;
  let invisibleKey = false;

  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const isKey = c.index === header.keyIndex;
    const big = oversized ? oversized.find((o) => o.index === c.index) : undefined;
    if (big) {
      empty = false;
      broken.push({ column: c, rule: oversizedRule(big), type: 'field_length' });
      if (isKey) keyUsable = false;
      continue;
    }
    const raw = cells[c.index];
    const text = raw === undefined ? '' : raw.trim();
    // A buyer number of nothing but invisible characters and spaces (it folds to nothing) is no buyer number.
    if (text === '' || (isKey && foldKey(text) === '')) {
      if (text !== '') invisibleKey = true;
      values[i] = null;
      continue;
    }
    empty = false;
    const unstorable = cellProblem(text, rules.encodingLabel);
    if (unstorable !== null) {
      broken.push({ column: c, rule: unstorable, type: 'data_type' });
      if (isKey) keyUsable = false;
      continue;
    }
    values[i] = typedValue(c, text, rules, broken);
    if (isKey && c.type === 'text') {
      key = text;
      const tooLong = keyTooLong(c, text, rules.keyMaxLength);
      if (tooLong !== null) broken.push(tooLong);
    }
  }

  if (empty) return { kind: 'blank', rowNumber };
  if (key === null && keyUsable) broken.unshift(missingKey(header, invisibleKey));
  if (broken.length > 0) return invalidRow(rowNumber, keyUsable ? key : null, broken);
  return { kind: 'valid', row: new TypedRow(rowNumber, key!, values, columns) };
}
