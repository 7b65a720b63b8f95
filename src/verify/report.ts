/**
 * The verification report (design §6: VerificationReport): its summary line,
 * the `verify --json` shape of contract.md, the Markdown an operator pastes
 * into a ticket, and how it is stored (buyer_sync.verification_reports, with
 * its findings and mismatches).
 */
import type pg from 'pg';
import { printable } from '../printable.ts';
import { pgArray } from '../sync/sql/pg-array.ts';
import type { Comparison, Mismatch } from './compare.ts';
import { describeGroup, type LookalikeGroup } from './lookalikes.ts';

/** At most this many buyer numbers of each finding are stored with a report (all are counted, and listed by --json). */
const FINDINGS_STORED = 1000;

export type VerificationTrigger = 'command' | 'after_sync';

export interface CompletenessResult {
  complete: boolean;
  spreadsheetCount: number;
  databaseCount: number;
  missingCount: number;
  missing: { buyerNumber: string; rowNumber: number }[];
  extraCount: number;
  extra: string[];
}

export interface AccuracyResult {
  accurate: boolean;
  /** --sample N; null: every buyer. */
  sampleRequested: number | null;
  sampleSize: number;
  seed: bigint;
  mismatchCount: number;
  mismatchedBuyers: number;
  mismatches: Mismatch[];
  unverifiableCount: number;
  unverifiable: { buyerNumber: string; rowNumber: number }[];
}

export interface VerificationReport {
  id: string | null;
  timestamp: Date;
  source: string;
  trigger: VerificationTrigger;
  runId: string | null;
  completeness: CompletenessResult;
  accuracy: AccuracyResult;
  /** Look-alike buyer numbers in the database (two rows for one buyer, or a number of invisible characters): the verification fails. */
  lookalikes: LookalikeGroup[];
  passed: boolean;
  summary: string;
  durationMs: number;
}

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many = `${one}s`) => `${n(x)} ${x === 1 ? one : many}`;

function firstFew(list: string[], max = 5): string {
  const shown = list.slice(0, max).map((b) => printable(b, 40));
  return `${shown.join(', ')}${list.length > max ? ', …' : ''}`;
}

export function buildReport(a: {
  source: string;
  trigger: VerificationTrigger;
  runId: string | null;
  spreadsheetCount: number;
  comparison: Comparison;
  seed: bigint;
  sampleRequested: number | null;
  startedAt: Date;
  durationMs: number;
  lookalikes?: LookalikeGroup[];
}): VerificationReport {
  const c = a.comparison;
  const completeness: CompletenessResult = {
    complete: c.missing.length === 0,
    spreadsheetCount: a.spreadsheetCount,
    databaseCount: c.databaseCount,
    missingCount: c.missing.length,
    missing: c.missing,
    extraCount: c.extra.length,
    extra: c.extra,
  };
  const accuracy: AccuracyResult = {
    accurate: c.mismatchCount === 0,
    sampleRequested: a.sampleRequested,
    sampleSize: c.sampleSize,
    seed: a.seed,
    mismatchCount: c.mismatchCount,
    mismatchedBuyers: c.mismatchedBuyers,
    mismatches: c.mismatches,
    unverifiableCount: c.unverifiable.length,
    unverifiable: c.unverifiable,
  };
  const lookalikes = a.lookalikes ?? [];
  const passed = completeness.complete && accuracy.accurate && lookalikes.length === 0;
  const parts: string[] = [];
  parts.push(
    completeness.complete
      ? `${a.spreadsheetCount === 1 ? 'the 1 sheet buyer is' : `all ${plural(a.spreadsheetCount, 'sheet buyer')} are`} in the database`
      : `${plural(completeness.missingCount, 'sheet buyer')} of ${n(a.spreadsheetCount)} missing from the database (${firstFew(c.missing.map((m) => m.buyerNumber))})`,
  );
  parts.push(
    accuracy.accurate
      ? `${plural(c.sampleSize, 'sampled buyer')} ${c.sampleSize === 1 ? 'matches' : 'match'} the sheet in every column`
      : `${plural(c.mismatchedBuyers, 'sampled buyer')} of ${n(c.sampleSize)} ${c.mismatchedBuyers === 1 ? 'differs' : 'differ'} from the sheet (${plural(c.mismatchCount, 'column')}: ${firstFew([...new Set(c.mismatches.map((m) => m.buyerNumber))])})`,
  );
  if (completeness.extraCount > 0)
    parts.push(`${plural(completeness.extraCount, 'buyer')} in the database no longer on the sheet (kept)`);
  if (lookalikes.length > 0) {
    parts.push(
      `${plural(lookalikes.length, 'group')} of look-alike buyer numbers in the database: ${lookalikes.slice(0, 3).map(describeGroup).join('; ')}` +
        `${lookalikes.length > 3 ? '; …' : ''} (buyer_sync.lookalike_buyers)`,
    );
  }
  if (accuracy.unverifiableCount > 0)
    parts.push(
      `${plural(accuracy.unverifiableCount, 'buyer')} not compared: their sheet row breaks a rule (see buyer-sync errors)`,
    );
  return {
    id: null,
    timestamp: a.startedAt,
    source: a.source,
    trigger: a.trigger,
    runId: a.runId,
    completeness,
    accuracy,
    lookalikes,
    passed,
    summary: `${passed ? 'passed' : 'failed'}: ${parts.join('; ')}`,
    durationMs: a.durationMs,
  };
}

/** `verify --json` (contract.md), with what goes beyond it: extra buyers, unverifiable ones, the seed, the report's id. */
export function reportJson(r: VerificationReport) {
  return {
    timestamp: r.timestamp.toISOString(),
    passed: r.passed,
    summary: r.summary,
    completeness: {
      complete: r.completeness.complete,
      missing_count: r.completeness.missingCount,
      missing_buyer_numbers: r.completeness.missing.map((m) => m.buyerNumber),
      spreadsheet_count: r.completeness.spreadsheetCount,
      database_count: r.completeness.databaseCount,
      extra_count: r.completeness.extraCount,
      extra_buyer_numbers: r.completeness.extra,
    },
    accuracy: {
      accurate: r.accuracy.accurate,
      sample_size: r.accuracy.sampleSize,
      mismatch_count: r.accuracy.mismatchCount,
      mismatches: r.accuracy.mismatches.map((m) => ({
        buyer_number: m.buyerNumber,
        field: m.field,
        spreadsheet_value: m.spreadsheetValue,
        database_value: m.databaseValue,
      })),
      mismatched_buyers: r.accuracy.mismatchedBuyers,
      unverifiable_count: r.accuracy.unverifiableCount,
      unverifiable_buyer_numbers: r.accuracy.unverifiable.map((u) => u.buyerNumber),
      seed: r.accuracy.seed.toString(),
    },
    lookalikes: r.lookalikes.map((g) => ({ folded_key: g.foldedKey, buyer_numbers: g.buyerNumbers })),
    report_id: r.id,
    source: r.source,
  };
}

/** A Markdown table cell: one line, pipes escaped, control characters shown. */
function cell(value: string | null): string {
  if (value === null) return '_(empty)_';
  return printable(value, 200).replaceAll('|', '\\|');
}

/** The report as Markdown, for a ticket. */
export function reportMarkdown(r: VerificationReport): string {
  const lines: string[] = [];
  const c = r.completeness;
  const a = r.accuracy;
  lines.push(`# buyer-sync verification: ${r.passed ? 'PASSED' : 'FAILED'}`, '');
  lines.push(`- **When:** ${r.timestamp.toISOString()} (${(r.durationMs / 1000).toFixed(1)} s)`);
  lines.push(`- **Sheet:** ${printable(r.source, 200)}`);
  if (r.id) lines.push(`- **Report:** \`${r.id}\` (buyer_sync.verification_reports)`);
  lines.push(`- **Summary:** ${r.summary}`, '');
  lines.push('## Completeness', '');
  lines.push(`| | buyers |`, `| --- | ---: |`);
  lines.push(`| on the sheet | ${n(c.spreadsheetCount)} |`, `| in the database | ${n(c.databaseCount)} |`);
  lines.push(
    `| missing from the database | ${n(c.missingCount)} |`,
    `| in the database, no longer on the sheet | ${n(c.extraCount)} |`,
    '',
  );
  if (c.missingCount > 0) {
    lines.push(
      'Missing (sheet row): ' +
        c.missing
          .slice(0, 50)
          .map((m) => `\`${cell(m.buyerNumber)}\` (${m.rowNumber})`)
          .join(', ') +
        (c.missingCount > 50 ? `, … ${n(c.missingCount - 50)} more` : ''),
      '',
    );
    lines.push(
      'Why each one failed: `npx buyer-sync errors --buyer <number>`. After fixing the sheet: `npx buyer-sync sync --only <numbers>`.',
      '',
    );
  }
  if (c.extraCount > 0) {
    lines.push(
      'No longer on the sheet (kept, never deleted): ' +
        c.extra
          .slice(0, 50)
          .map((b) => `\`${cell(b)}\``)
          .join(', ') +
        (c.extraCount > 50 ? `, … ${n(c.extraCount - 50)} more` : ''),
      '',
    );
  }
  if (r.lookalikes.length > 0) {
    lines.push('## Look-alike buyer numbers', '');
    lines.push(
      'Buyer numbers in the database that are one number written differently (two rows for one buyer), or only invisible characters. Merge them by hand; buyer_sync.lookalike_buyers lists them.',
      '',
    );
    for (const g of r.lookalikes.slice(0, 50))
      lines.push(`- ${g.buyerNumbers.map((b) => `\`${cell(b)}\``).join(', ')}`);
    lines.push('');
  }
  lines.push('## Accuracy', '');
  lines.push(
    `${n(a.sampleSize)} buyer(s) compared column by column${a.sampleRequested === null ? ' (all)' : ` (sample of ${n(a.sampleRequested)})`}, ` +
      `seed ${a.seed} (\`npx buyer-sync verify${a.sampleRequested === null ? ' --sample all' : ` --sample ${a.sampleRequested}`} --seed ${a.seed}\` draws the same buyers).`,
    '',
  );
  if (a.mismatchCount === 0) lines.push('No differences.', '');
  else {
    lines.push(
      `${plural(a.mismatchCount, 'difference')} in ${plural(a.mismatchedBuyers, 'buyer')}. The values are buyers' personal data: share this report only where that is allowed.`,
      '',
    );
    lines.push('| buyer | column | sheet | database |', '| --- | --- | --- | --- |');
    for (const m of a.mismatches.slice(0, 100))
      lines.push(
        `| \`${cell(m.buyerNumber)}\` | ${m.field} | ${cell(m.spreadsheetValue)} | ${cell(m.databaseValue)} |`,
      );
    if (a.mismatchCount > 100)
      lines.push('', `… ${n(a.mismatchCount - 100)} more (buyer_sync.verification_mismatches keeps up to ${n(1000)}).`);
    lines.push('');
  }
  if (a.unverifiableCount > 0) {
    lines.push(
      `Not compared: ${plural(a.unverifiableCount, 'buyer')} whose sheet row breaks a rule (the database keeps their last good values): ` +
        a.unverifiable
          .slice(0, 20)
          .map((u) => `\`${cell(u.buyerNumber)}\` (row ${u.rowNumber})`)
          .join(', ') +
        (a.unverifiableCount > 20 ? ', …' : '') +
        '.',
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Stores the report with its findings and mismatches; returns its id. */
export async function storeReport(db: pg.ClientBase, r: VerificationReport): Promise<string> {
  const c = r.completeness;
  const a = r.accuracy;
  const { rows } = await db.query<{ id: string }>(
    `insert into buyer_sync.verification_reports
       (created_at, source, trigger, run_id, seed, sample_requested, sample_size, spreadsheet_count, database_count,
        missing_count, extra_count, unverifiable_count, mismatch_count, mismatched_buyers, complete, accurate, passed,
        summary, duration_ms, lookalike_groups)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
     returning id`,
    [
      r.timestamp,
      r.source,
      r.trigger,
      r.runId,
      a.seed.toString(),
      a.sampleRequested,
      a.sampleSize,
      c.spreadsheetCount,
      c.databaseCount,
      c.missingCount,
      c.extraCount,
      a.unverifiableCount,
      a.mismatchCount,
      a.mismatchedBuyers,
      c.complete,
      a.accurate,
      r.passed,
      r.summary,
      Math.round(r.durationMs),
      r.lookalikes.length,
    ],
  );
  const id = rows[0]!.id;
  const findings: [string, string, number | null][] = [
    ...c.missing
      .slice(0, FINDINGS_STORED)
      .map((m) => ['missing', m.buyerNumber, m.rowNumber] as [string, string, number]),
    ...c.extra.slice(0, FINDINGS_STORED).map((b) => ['extra', b, null] as [string, string, null]),
    ...a.unverifiable
      .slice(0, FINDINGS_STORED)
      .map((u) => ['unverifiable', u.buyerNumber, u.rowNumber] as [string, string, number]),
  ];
  if (findings.length > 0) {
    await db.query(
      `insert into buyer_sync.verification_findings (report_id, finding, buyer_number, row_number)
       select $1, * from unnest($2::text[], $3::text[], $4::integer[])`,
      [id, pgArray(findings.map((f) => f[0])), pgArray(findings.map((f) => f[1])), pgArray(findings.map((f) => f[2]))],
    );
  }
  if (a.mismatches.length > 0) {
    await db.query(
      `insert into buyer_sync.verification_mismatches (report_id, buyer_number, field, spreadsheet_value, database_value)
       select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
      [
        id,
        pgArray(a.mismatches.map((m) => m.buyerNumber)),
        pgArray(a.mismatches.map((m) => m.field)),
        pgArray(a.mismatches.map((m) => m.spreadsheetValue)),
        pgArray(a.mismatches.map((m) => m.databaseValue)),
      ],
    );
  }
  return id;
}
