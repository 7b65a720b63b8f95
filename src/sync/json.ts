/**
 * The JSON shapes of `sync --json` and `sync --dry-run --json` (contract.md),
 * from a run's result.
 */
import type { SyncResult } from './types.ts';
import { massChangeFigures } from './mass-change.ts';

/** The `sync --json` shape of contract.md. */
export function syncResultJson(
  r: Pick<
    SyncResult,
    | 'runId'
    | 'source'
    | 'totalRows'
    | 'blankRows'
    | 'inserted'
    | 'updated'
    | 'unchanged'
    | 'failed'
    | 'errorsByType'
    | 'retryQueueSize'
    | 'durationMs'
    | 'rowsPerSecond'
  >,
) {
  return {
    run_id: r.runId,
    source: r.source,
    total_rows: r.totalRows,
    blank_rows: r.blankRows,
    inserted: r.inserted,
    updated: r.updated,
    unchanged: r.unchanged,
    failed: r.failed,
    errors_by_type: r.errorsByType,
    retry_queue_size: r.retryQueueSize,
    duration_ms: r.durationMs,
    rows_per_second: r.rowsPerSecond,
  };
}

/** `sync --dry-run --json`: the same counts (what the run would have done), and per buyer what it would do. */
export function dryRunJson(r: SyncResult) {
  const p = r.preview ?? { insert: [], update: [], fail: [] };
  return {
    dry_run: true,
    ...syncResultJson(r),
    run_id: null,
    would_insert: p.insert,
    would_update: p.update.map((u) => ({ buyer_number: u.buyerNumber, changed_columns: u.changedColumns })),
    would_fail: p.fail.map((f) => ({
      buyer_number: f.buyerNumber,
      row_number: f.rowNumber,
      error_type: f.errorType,
      column_name: f.column,
    })),
    would_raise_alerts: r.alerts.map((a) => ({ type: a.type, severity: a.severity, resolved: a.resolved })),
    mass_change: r.massChange
      ? { would_refuse: r.massChange.beyond && r.massChange.allowedBy === null, ...massChangeFigures(r.massChange) }
      : null,
  };
}
