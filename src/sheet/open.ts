/**
 * SHEET_SOURCE / --source: a Google Sheets URL, `gsheets:<id>`, or a path to
 * a .csv export. Unset: the sample sheet shipped with the project.
 */
import path from 'node:path';
import { projectRoot } from '../config.ts';
import { UsageError } from '../errors.ts';
import { CsvSheetSource } from './csv-source.ts';
import type { SheetSource } from './source.ts';

export const SAMPLE_SHEET = path.join(projectRoot, 'data', 'sample-buyers.csv');

export function isGoogleSheetsAddress(spec: string): boolean {
  return /^gsheets:/i.test(spec) || /^https?:\/\/docs\.google\.com\/spreadsheets\//i.test(spec);
}

export function openSource(spec: string | null): SheetSource {
  if (spec === null) return new CsvSheetSource(SAMPLE_SHEET);
  if (isGoogleSheetsAddress(spec)) {
    throw new UsageError(`Google Sheets sources are not supported by this build yet: ${spec}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new UsageError(
      `unsupported sheet source "${spec}": use a Google Sheets URL, gsheets:<spreadsheet id>, or a path to a .csv file`,
    );
  }
  return new CsvSheetSource(spec);
}
