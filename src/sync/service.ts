/**
 * The design's EnhancedBuyerSyncService (§2), by its own names, over the one
 * engine entry point (engine.ts: syncBuyers) and the retry round
 * (retry-round.ts). The command line and the worker tasks call those
 * directly; this class keeps the design's vocabulary for readers of the
 * design and for the tests written against it.
 */
import type pg from 'pg';
import { syncBuyers, type EngineOptions } from './engine.ts';
import { processRetryQueue, type RetryRoundOptions, type RetryRoundResult } from './retry-round.ts';
import type { SyncRequest, SyncResult } from './types.ts';

export { DEFAULT_BATCH_SIZE, type SyncProgress, type SyncResult } from './types.ts';
export { safeDatabaseError, SyncAbortedError, SyncCancelled } from './failure.ts';
export { assertSchema } from './engine.ts';

/** The `sync --json` shape of contract.md. */
export function syncResultJson(r: Pick<SyncResult, 'runId' | 'source' | 'totalRows' | 'blankRows' | 'inserted' | 'updated' | 'unchanged' | 'failed' | 'errorsByType' | 'retryQueueSize' | 'durationMs' | 'rowsPerSecond'>) {
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
    would_fail: p.fail.map((f) => ({ buyer_number: f.buyerNumber, row_number: f.rowNumber, error_type: f.errorType, column_name: f.column })),
    would_raise_alerts: r.alerts.map((a) => ({ type: a.type, severity: a.severity, resolved: a.resolved })),
  };
}

export type SyncOptions = Omit<SyncRequest, 'mode' | 'keys'>;

export class EnhancedBuyerSyncService {
  private readonly pool: pg.Pool;
  private readonly options: EngineOptions;
  constructor(pool: pg.Pool, options: EngineOptions = {}) {
    this.pool = pool;
    this.options = options;
  }

  /** A full sync of the sheet. */
  async syncAllWithErrorHandling(options: SyncOptions): Promise<SyncResult> {
    return syncBuyers(this.pool, { ...options, mode: 'full' }, this.options);
  }

  /** Syncs only the given buyer numbers from the sheet (`sync --only`, the missing-buyer recovery). */
  async syncMissingBuyers(buyerNumbers: string[], options: SyncOptions): Promise<SyncResult> {
    return syncBuyers(this.pool, { ...options, mode: 'only', keys: buyerNumbers }, this.options);
  }

  /** One retry round: the entries due now. */
  async processRetryQueue(options: Omit<RetryRoundOptions, 'engine'>): Promise<RetryRoundResult> {
    return processRetryQueue(this.pool, { ...options, engine: this.options });
  }
}
