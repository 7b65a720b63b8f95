/**
 * The sync report's content, read from SQL (migration 068): counts, the
 * latest verification, and its lines: every row failing now
 * (buyer_sync.report_failing_rows, by sheet row), then buyer numbers on more
 * than one row, look-alike buyer numbers, and buyers in the database no
 * longer on the sheet. The same content feeds the report tab (tab.ts) and
 * `buyer-sync report` (md, csv, json).
 *
 * Nothing in it is a cell value but buyer numbers: a line's problem is the
 * row rule's message from sync_error_log (the column, the rule, what is
 * accepted).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import {
  duplicateKeys,
  extraBuyers,
  failingRows,
  latestFinishedRun,
  latestVerification,
  lookalikeBuyers,
  reportCounts,
  type ReportRun,
} from './sql.ts';

export type LineKind = 'row' | 'duplicate' | 'lookalike' | 'extra';

export interface ReportLine {
  kind: LineKind;
  row_number: number | null;
  buyer_number: string | null;
  column: string | null;
  error_type: string | null;
  problem: string;
  since: string | null;
  attempts: number;
  next_retry_at: string | null;
}

export interface LastSync {
  run_id: string;
  mode: string;
  status: string;
  failure: string | null;
  finished_at: string | null;
}

export interface Report {
  generated_at: string;
  last_sync: LastSync | null;
  counts: { on_sheet: number; in_database: number; missing: number; failing: number };
  verification: { passed: boolean; summary: string; created_at: string } | null;
  lines: ReportLine[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** A run as the report's "since" names it: the latest finished one (full, retry or --only), or the one an unchanged report follows. */
export function lastSyncOf(r: ReportRun | undefined): LastSync | null {
  return r
    ? { run_id: r.id, mode: r.mode, status: r.status, failure: r.failure, finished_at: iso(r.finished_at) }
    : null;
}

export async function buildReport(pool: pg.Pool): Promise<Report> {
  const client = await pool.connect();
  try {
    // One snapshot for every part of it.
    await client.query('begin isolation level repeatable read read only');
    const counts = await reportCounts(client);
    const failing = await failingRows(client);
    const duplicates = await duplicateKeys(client);
    const lookalikes = await lookalikeBuyers(client);
    const extra = await extraBuyers(client);
    const v = await latestVerification(client);
    const last = lastSyncOf(await latestFinishedRun(client));
    await client.query('commit');

    const lines: ReportLine[] = failing.map((f) => ({
      kind: 'row',
      row_number: f.row_number,
      buyer_number: f.buyer_number,
      column: f.column_name,
      error_type: f.error_type,
      problem: f.problem,
      since: iso(f.since),
      attempts: f.attempts,
      next_retry_at: iso(f.next_retry_at),
    }));
    const other = (kind: LineKind, problem: string, o: Partial<ReportLine> = {}): ReportLine => ({
      kind,
      row_number: null,
      buyer_number: null,
      column: null,
      error_type: null,
      problem,
      since: null,
      attempts: 0,
      next_retry_at: null,
      ...o,
    });
    for (const d of duplicates) {
      lines.push(
        other(
          'duplicate',
          `buyer number on ${d.row_numbers.length} rows (${d.row_numbers.join(', ')}): one buyer, one row; remove or renumber the others`,
          { buyer_number: d.buyer_number, row_number: d.row_numbers[0] ?? null },
        ),
      );
    }
    for (const l of lookalikes) {
      lines.push(
        other(
          'lookalike',
          `look-alike buyer numbers in the database: ${l.buyer_numbers.map((b) => JSON.stringify(b)).join(', ')} are one number written differently (full-width characters, invisible characters, spaces); write it one way everywhere`,
          { buyer_number: l.buyer_numbers[0] ?? null },
        ),
      );
    }
    for (const x of extra) {
      lines.push(
        other('extra', 'in the database, no longer on the sheet (kept: buyer-sync never deletes a buyer)', {
          buyer_number: x.buyer_number,
        }),
      );
    }
    return {
      generated_at: new Date().toISOString(),
      last_sync: last,
      counts: { ...counts, failing: failing.length },
      verification: v ? { passed: v.passed, summary: v.summary, created_at: v.created_at.toISOString() } : null,
      lines,
    };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * What the report shows, without when it was made or which run it follows:
 * a run that changes nothing of it hashes the same, and writes nothing.
 */
export function contentHash(report: Report, extra: unknown = null): string {
  const body = {
    counts: report.counts,
    verification: report.verification
      ? { passed: report.verification.passed, summary: report.verification.summary }
      : null,
    lines: report.lines,
    extra,
  };
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
