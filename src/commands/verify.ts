/**
 * `buyer-sync verify`: the integrity check (contract.md): every sheet buyer
 * in the database (set difference) and a seeded sample compared column by
 * column, stored in buyer_sync.verification_reports. Exit 1 when it failed.
 * `--format md` prints a report for a ticket.
 */
import type { Config } from '../config.ts';
import { sampleSize } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { loadMapping } from '../mapping/mapping.ts';
import { printable } from '../printable.ts';
import { verifyIntegrity } from '../verify/checker.ts';
import { reportJson, reportMarkdown, type VerificationReport } from '../verify/report.ts';
import { getConfig, printJson, sourceFor, withDatabase, type CommandContext } from './common.ts';
import { fmt, Progress } from './progress.ts';

export interface VerifyCommandOptions {
  source?: string;
  encoding?: string;
  sample?: string;
  seed?: string;
  format?: string;
  json: boolean;
}

export function parseSeed(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text.trim()))
    throw new UsageError(`--seed must be a whole number (0 to 999999999999999), got "${text}"`);
  return BigInt(text.trim());
}

function printReport(r: VerificationReport): void {
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const c = r.completeness;
  const a = r.accuracy;
  out(`Verification ${r.passed ? 'PASSED' : 'FAILED'} (report ${r.id})`);
  out(`  ${r.summary}`);
  out(
    `  completeness: ${fmt(c.spreadsheetCount)} on the sheet, ${fmt(c.databaseCount)} in the database; ${fmt(c.missingCount)} missing, ${fmt(c.extraCount)} no longer on the sheet`,
  );
  for (const m of c.missing.slice(0, 20)) out(`    missing: ${printable(m.buyerNumber)} (sheet row ${m.rowNumber})`);
  if (c.missingCount > 20) out(`    … and ${fmt(c.missingCount - 20)} more (--json lists all)`);
  out(
    `  accuracy:     ${fmt(a.sampleSize)} buyer(s) compared (seed ${a.seed}); ${fmt(a.mismatchCount)} difference(s) in ${fmt(a.mismatchedBuyers)} buyer(s)`,
  );
  for (const m of a.mismatches.slice(0, 20))
    out(
      `    ${printable(m.buyerNumber)}: ${m.field} differs (values: --format md, or buyer_sync.verification_mismatches)`,
    );
  if (a.mismatchCount > 20) out(`    … and ${fmt(a.mismatchCount - 20)} more`);
  if (a.unverifiableCount > 0)
    out(`  not compared: ${fmt(a.unverifiableCount)} buyer(s) whose sheet row breaks a rule (buyer-sync errors)`);
  for (const g of r.lookalikes.slice(0, 20))
    out(
      `  look-alike buyer numbers in the database: ${g.buyerNumbers.map((b) => printable(b)).join(', ')} (buyer_sync.lookalike_buyers)`,
    );
}

export async function runVerify(
  db: Database,
  config: Config,
  opts: VerifyCommandOptions,
  ctx?: CommandContext,
): Promise<number> {
  const format = opts.format ?? 'text';
  if (format !== 'text' && format !== 'md') throw new UsageError(`--format must be text or md, got "${format}"`);
  if (opts.json && format === 'md')
    throw new UsageError('--json and --format md are two different outputs; choose one');
  const sample = sampleSize('--sample', opts.sample, config.verifySample);
  const seed = parseSeed(opts.seed);
  const mapping = loadMapping(config.mappingFile);
  const source = await sourceFor(config, opts.source, opts.encoding);
  const progress = new Progress();
  let report: VerificationReport;
  try {
    report = await verifyIntegrity(db.pool, {
      source,
      mapping,
      sample,
      ...(seed !== undefined ? { seed } : {}),
      ...(ctx ? { signal: ctx.signal } : {}),
      onRows: (n) => progress.update(() => `verifying: ${fmt(n)} rows read`),
    });
  } finally {
    progress.done();
  }
  if (opts.json) printJson(reportJson(report));
  else if (format === 'md') process.stdout.write(reportMarkdown(report));
  else printReport(report);
  return report.passed ? ExitCode.ok : ExitCode.problems;
}

export async function verifyCommand(opts: VerifyCommandOptions): Promise<number> {
  const config = getConfig();
  return withDatabase(config, (db, ctx) => runVerify(db, config, opts, ctx));
}
