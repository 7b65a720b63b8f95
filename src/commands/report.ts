/**
 * `buyer-sync report [--format md|csv|json]`: the sync report, the same
 * content the report tab shows (src/report/), for any source (a CSV export
 * has no tab to write it to). Exit 1 while rows fail (the command ran and
 * found problems), else 0.
 */
import { ExitCode, UsageError } from '../errors.ts';
import { loadMapping, type Mapping } from '../mapping/mapping.ts';
import { buildReport } from '../report/content.ts';
import { reportCsv, reportJson, reportMarkdown } from '../report/format.ts';
import { getConfig, printJson, withDatabase } from './common.ts';

export interface ReportCommandOptions {
  format?: string;
  json: boolean;
}

const FORMATS = ['md', 'csv', 'json'] as const;

export async function reportCommand(opts: ReportCommandOptions): Promise<number> {
  const format = opts.json ? 'json' : (opts.format ?? 'md');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  const config = getConfig();
  let mapping: Mapping | null = null;
  try {
    mapping = loadMapping(config.mappingFile);
  } catch {
    mapping = null; // column names then show as the database's
  }
  return withDatabase(config, async (db) => {
    const report = await buildReport(db.pool);
    if (format === 'json') printJson(reportJson(report));
    else process.stdout.write(format === 'csv' ? reportCsv(report, mapping) : reportMarkdown(report, mapping));
    return report.counts.failing > 0 ? ExitCode.problems : ExitCode.ok;
  });
}
