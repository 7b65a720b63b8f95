/**
 * SHEET_SOURCE / --source: a Google Sheets URL, `gsheets:<id>`, or a path to
 * a .csv export. Unset: the sample sheet shipped with the project.
 */
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import type { EncodingRequest } from './csv/detect.ts';
import { parseEncoding, type Encoding } from './csv/encoding.ts';
import { CsvSheetSource } from './csv/source.ts';
import { parseSheetAddress } from './google/address.ts';
import { GoogleSheetSource } from './google/source.ts';
import type { SheetSource } from './source.ts';

export const SAMPLE_SHEET = path.join(projectRoot, 'data', 'sample-buyers.csv');

export function isGoogleSheetsAddress(spec: string): boolean {
  return /^gsheets:/i.test(spec) || /^https?:\/\/docs\.google\.com\/spreadsheets\//i.test(spec);
}

export interface SourceOptions {
  /** --encoding / SHEET_ENCODING, for a CSV export. */
  encoding?: EncodingRequest | null;
  /** SHEET_TAB */
  tab?: string | null;
  /** SHEET_REPORT_TAB */
  reportTab?: string | null;
  /** GOOGLE_SHEETS_ROOT_URL */
  rootUrl?: string | null;
  /** GOOGLE_DRIVE_ROOT_URL */
  driveRootUrl?: string | null;
  /** GOOGLE_SHEETS_BACKOFF_MS: the first retry delay (tests make it small). */
  backoffBaseMs?: number | null;
  /** GOOGLE_SHEETS_READS_PER_MINUTE */
  perMinute?: number;
  log?: (line: string) => void;
}

export function openSource(spec: string | null, options: SourceOptions = {}): SheetSource {
  const csv = { encoding: options.encoding ?? null };
  if (spec === null) return new CsvSheetSource(SAMPLE_SHEET, csv);
  if (isGoogleSheetsAddress(spec)) {
    if (options.encoding?.from === '--encoding') {
      throw new UsageError('--encoding applies to CSV exports; the Google Sheets API has no encoding to choose');
    }
    return new GoogleSheetSource(parseSheetAddress(spec), {
      tab: options.tab ?? null,
      reportTab: options.reportTab ?? null,
      rootUrl: options.rootUrl ?? null,
      driveRootUrl: options.driveRootUrl ?? null,
      ...(options.backoffBaseMs
        ? { backoff: { baseMs: options.backoffBaseMs, maxMs: options.backoffBaseMs * 32, attempts: 8 } }
        : {}),
      ...(options.perMinute ? { perMinute: options.perMinute } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new UsageError(
      `unsupported sheet source "${spec}": use a Google Sheets URL, gsheets:<spreadsheet id>, or a path to a .csv file`,
    );
  }
  return new CsvSheetSource(spec, csv);
}

/** The configuration's sheet settings (config.ts reads them from the environment). */
export interface SourceSettings {
  /** SHEET_SOURCE, or null: the sample sheet. */
  sheetSource: string | null;
  /** SHEET_TAB, or null: the first tab. */
  sheetTab: string | null;
  /** SHEET_REPORT_TAB, or null: no report tab. */
  sheetReportTab: string | null;
  /** SHEET_ENCODING, or null: decided from the file. */
  sheetEncoding: Encoding | null;
  sheetsRootUrl: string | null;
  sheetsBackoffMs: number | null;
  sheetsReadsPerMinute: number;
  driveRootUrl?: string | null;
}

/**
 * The sheet a command or a task reads: `spec` (--source, a retry's recorded
 * source), else SHEET_SOURCE, else the sample sheet; with the configuration's
 * Google settings and encoding (`--encoding` wins over SHEET_ENCODING).
 */
export function sourceFromConfig(
  config: SourceSettings,
  spec: string | null | undefined,
  options: { encodingFlag?: string | undefined; log?: (line: string) => void } = {},
): SheetSource {
  const encoding =
    options.encodingFlag !== undefined
      ? { encoding: parseEncoding(options.encodingFlag, '--encoding'), from: '--encoding' }
      : config.sheetEncoding !== null
        ? { encoding: config.sheetEncoding, from: 'SHEET_ENCODING' }
        : null;
  return openSource(spec ?? config.sheetSource, {
    encoding,
    tab: config.sheetTab,
    reportTab: config.sheetReportTab,
    rootUrl: config.sheetsRootUrl,
    driveRootUrl: config.driveRootUrl ?? null,
    backoffBaseMs: config.sheetsBackoffMs,
    perMinute: config.sheetsReadsPerMinute,
    ...(options.log ? { log: options.log } : {}),
  });
}
