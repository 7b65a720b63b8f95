import type { Config } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { compareSheetAndDatabase, missingReportJson, type MissingReport } from '../sync/missing.ts';
import { printable } from '../printable.ts';
import { getConfig, printJson, sourceFor, withDatabase, type CommandContext } from './common.ts';
import { fmt } from './progress.ts';

export interface MissingCommandOptions {
  source?: string;
  encoding?: string;
  json: boolean;
}

const LIST_LIMIT = 20;

export function printMissingReport(r: MissingReport): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`Sheet: ${fmt(r.spreadsheetCount)} buyers. Database: ${fmt(r.databaseCount)} buyers.`);
  if (r.missing.length === 0) out('Missing: none; every buyer on the sheet is in the database.');
  else {
    out(`Missing: ${fmt(r.missing.length)} on the sheet but not in the database:`);
    for (const b of r.missing.slice(0, LIST_LIMIT)) out(`  ${printable(b)} (sheet row ${r.missingRows.get(b)})`);
    if (r.missing.length > LIST_LIMIT) out(`  … and ${fmt(r.missing.length - LIST_LIMIT)} more (--json lists all)`);
    out(
      '  Their failures: `npx buyer-sync errors --buyer <number>`; after fixing the sheet: `npx buyer-sync sync --only <numbers>`.',
    );
  }
  if (r.extra.length === 0) out('Extra: none.');
  else {
    out(`Extra: ${fmt(r.extra.length)} in the database but no longer on the sheet (kept, never deleted):`);
    for (const b of r.extra.slice(0, LIST_LIMIT)) out(`  ${printable(b)}`);
    if (r.extra.length > LIST_LIMIT) out(`  … and ${fmt(r.extra.length - LIST_LIMIT)} more (--json lists all)`);
  }
}

export async function runMissing(
  db: Database,
  config: Config,
  opts: MissingCommandOptions,
  ctx?: CommandContext,
): Promise<number> {
  const mapping = loadMapping(config.mappingFile);
  const source = await sourceFor(config, opts.source, opts.encoding);
  const report = await compareSheetAndDatabase(db.pool, source, mapping, ctx?.signal);
  if (opts.json) printJson(missingReportJson(report));
  else printMissingReport(report);
  return report.missing.length > 0 ? ExitCode.problems : ExitCode.ok;
}

export async function missingCommand(opts: MissingCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runMissing(db, config, opts, ctx));
}
