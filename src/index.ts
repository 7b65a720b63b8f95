/**
 * buyer-sync as a library: the design's components (EnhancedBuyerSyncService,
 * RetryManager, SyncMonitor, IntegrityChecker, SyncErrorLogger) as plain
 * functions over the same code the command line and the worker run.
 *
 * Each function takes the database (a `pg.Pool`, or a connection string: then
 * a pool is opened for the call and closed after it) and its options. None
 * writes to stdout or ends the process: failures are thrown (a
 * {@link CannotRunError} when the run could not start: a sync already
 * running, a schema or mapping problem, a sheet that cannot be read).
 *
 * The database must have been migrated (`buyer-sync migrate`).
 *
 * @example
 * ```ts
 * import { CsvSheetSource, loadMapping, sync } from 'buyer-sync';
 * const mapping = loadMapping('db/sheet-mapping.json');
 * const result = await sync('postgres://localhost/buyers', {
 *   source: new CsvSheetSource('buyers.csv'),
 *   mapping,
 *   verify: { sample: 100 },
 * });
 * console.log(result.inserted, result.verificationResult?.passed);
 * ```
 *
 * @packageDocumentation
 */
import type pg from 'pg';
import { createPool } from './db/connection.ts';
import type { Mapping } from './mapping/mapping.ts';
import { checkHealth as runHealthCheck, type HealthReport } from './monitor/health.ts';
import { buildReport, type Report } from './report/content.ts';
import type { SheetSource } from './sheet/source.ts';
import { failureText, type ErrorType } from './sync/error-types.ts';
import {
  SyncErrorLogger,
  type ErrorFilter,
  type ErrorStats,
  type SyncErrorInfo,
  type SyncErrorLog,
  type TimeRange,
} from './sync/error-logger.ts';
import { syncBuyers, type EngineOptions } from './sync/engine.ts';
import { compareSheetAndDatabase, type MissingReport } from './sync/missing.ts';
import { processRetryQueue, type RetryRoundOptions, type RetryRoundResult } from './sync/retry-round.ts';
import type { SyncRequest, SyncResult } from './sync/types.ts';
import { verifyIntegrity, type VerifyRequest } from './verify/checker.ts';
import type { VerificationReport } from './verify/report.ts';

export { CannotRunError, SourceUnavailableError, UsageError } from './errors.ts';
export { loadMapping, parseMapping, type ColumnMapping, type Mapping } from './mapping/mapping.ts';
export { ArraySheetSource } from './sheet/array-source.ts';
export { CsvSheetSource, type CsvSourceOptions } from './sheet/csv/source.ts';
export { openSource, type SourceOptions } from './sheet/open.ts';
export type { SheetSource } from './sheet/source.ts';
export { type EngineOptions } from './sync/engine.ts';
export { ERROR_TYPES, type ErrorType } from './sync/error-types.ts';
export { SyncAbortedError, SyncBusy, SyncCancelled } from './sync/errors.ts';
export { MassChangeRefused } from './sync/mass-change.ts';
export { DEFAULT_BATCH_SIZE, type SyncProgress, type SyncResult } from './sync/types.ts';
export type { ErrorFilter, ErrorStats, SyncErrorInfo, SyncErrorLog, TimeRange } from './sync/error-logger.ts';
export type { HealthReport } from './monitor/health.ts';
export type { MissingReport } from './sync/missing.ts';
export type { Report, ReportLine } from './report/content.ts';
export type { RetryRoundResult } from './sync/retry-round.ts';
export type { VerificationReport } from './verify/report.ts';

/** The database: a pool (left open), or a connection string (a pool opened for the call and closed after it). */
export type Db = pg.Pool | string;

async function withPool<T>(db: Db, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  if (typeof db !== 'string') return fn(db);
  const pool = createPool(db);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** What a sync of the sheet (or of some of its buyers) is given. */
export interface SyncOptions extends Omit<SyncRequest, 'mode' | 'keys' | 'keepSource'> {
  /** The engine's settings: the run journal, the mass-change limits, how long to wait for the sync lock. */
  engine?: EngineOptions;
}

/** What a full sync is given: {@link SyncOptions}, and whether to verify what it wrote. */
export interface FullSyncOptions extends SyncOptions {
  /**
   * Verify what the run wrote against the very rows it read, as the worker
   * does after a scheduled sync (trigger `after_sync`): `sample` buyers
   * compared column by column (null: every one). Not done for a dry run.
   */
  verify?: { sample: number | null; seed?: bigint };
}

/** A full sync's result: the run's (the design's EnhancedSyncResult) and the verification that followed it. */
export interface FullSyncResult extends SyncResult {
  /** The design's `SyncResult.verificationResult`: the stored verification report; null when none was asked for (or it could not run). */
  verificationResult: VerificationReport | null;
  /** Why an asked-for verification could not run (the sync itself succeeded and stands); null otherwise. */
  verificationError: string | null;
}

/**
 * A full sync of the sheet (the design's
 * `EnhancedBuyerSyncService.syncAllWithErrorHandling`): every non-blank row
 * ends in `buyers` or in `sync_error_log`, retryable failures are queued.
 * With `verify`, the verification of what it wrote follows on the same copy
 * of the sheet. Throws when the run could not run or was rolled back (a
 * {@link CannotRunError}, {@link SyncAbortedError}, {@link MassChangeRefused}).
 */
export async function sync(db: Db, options: FullSyncOptions): Promise<FullSyncResult> {
  const { engine, verify: verifyWith, ...request } = options;
  const verifying = verifyWith !== undefined && !request.dryRun;
  return withPool(db, async (pool) => {
    try {
      const result = await syncBuyers(pool, { ...request, mode: 'full', keepSource: verifying }, engine);
      if (!verifying || request.signal?.aborted)
        return { ...result, verificationResult: null, verificationError: null };
      try {
        const report = await verifyIntegrity(pool, {
          source: request.source,
          mapping: request.mapping,
          sample: verifyWith.sample,
          ...(verifyWith.seed !== undefined ? { seed: verifyWith.seed } : {}),
          trigger: 'after_sync',
          runId: result.runId,
          ...(request.signal ? { signal: request.signal } : {}),
          keepSource: true,
        });
        return { ...result, verificationResult: report, verificationError: null };
      } catch (err) {
        if (request.signal?.aborted) throw err;
        return { ...result, verificationResult: null, verificationError: failureText(err) };
      }
    } finally {
      if (verifying) await request.source.release?.().catch(() => undefined);
    }
  });
}

/**
 * Syncs only the given buyer numbers from the sheet (the design's
 * `syncMissingBuyers`; `sync --only`): their rows are read, nothing else is
 * touched. Buyer numbers not on the sheet are listed in `notOnSheet`.
 */
export async function syncBuyerNumbers(db: Db, buyerNumbers: string[], options: SyncOptions): Promise<SyncResult> {
  const { engine, ...request } = options;
  return withPool(db, (pool) => syncBuyers(pool, { ...request, mode: 'only', keys: buyerNumbers }, engine));
}

/** What a retry round is given. */
export interface RetryOptions extends Omit<RetryRoundOptions, 'sourceFor' | 'limit'> {
  /** The sheet to re-read for the entries of runs that read `description` (null: the configured sheet). */
  sourceFor: (description: string | null) => SheetSource;
  /** At most this many entries (oldest due first); 200 (RETRY_ROUND_LIMIT's default) when absent. */
  limit?: number;
}

/**
 * One retry round (the design's `RetryManager.processQueue`): the retry-queue
 * entries due now, one 'retry' run per sheet. An entry past its last attempt
 * becomes a permanent failure (with a critical alert). A sheet that cannot be
 * read leaves its entries as they are and is listed in `skipped`.
 */
export async function retryRound(db: Db, options: RetryOptions): Promise<RetryRoundResult> {
  return withPool(db, (pool) => processRetryQueue(pool, { ...options, limit: options.limit ?? 200 }));
}

/**
 * A health check (the design's `SyncMonitor.checkHealth`): reads the sheet's
 * buyer numbers now (when it can; else its last snapshot is judged), evaluates
 * the alert thresholds (`buyer_sync.check_health()`), records a
 * `sync_health_metrics` row and returns the verdict with the alerts raised.
 */
export async function checkHealth(
  db: Db,
  options: { source: SheetSource; mapping: Mapping; signal?: AbortSignal },
): Promise<HealthReport> {
  return withPool(db, (pool) => runHealthCheck(pool, options));
}

/** `buyer_sync.dashboard_summary`: the monitor's numbers in one row (null where nothing has run yet). */
export interface SyncSummary {
  lastSyncTime: Date | null;
  /** Percent (0–100) of the last full sync's non-blank rows that failed. */
  errorRate: number | null;
  rowSuccessRate: number | null;
  runs24h: number;
  failedRuns24h: number;
  /** Percent of the finished runs of the last 24 hours that succeeded. */
  runSuccessRate24h: number | null;
  missingCount: number;
  extraCount: number;
  spreadsheetCount: number;
  databaseCount: number;
  sheetReadAt: Date | null;
  retryQueueSize: number;
  oldestRetryAt: Date | null;
  permanentFailures: number;
  openAlerts: number;
  lastSyncDurationMs: number | null;
  lastSyncRowsPerSecond: number | null;
  lastVerificationAt: Date | null;
  lastVerificationPassed: boolean | null;
  lastVerificationSummary: string | null;
  lastCheckHealthy: boolean | null;
  lastCheckTime: Date | null;
}

/** One run of `buyer_sync.run_stats`. */
export interface RunStatistics {
  runId: string;
  startedAt: Date;
  finishedAt: Date | null;
  mode: string;
  status: string;
  failure: string | null;
  source: string | null;
  totalRows: number | null;
  blankRows: number | null;
  nonBlankRows: number | null;
  inserted: number | null;
  updated: number | null;
  unchanged: number | null;
  failed: number | null;
  /** Percent of its non-blank rows that failed; null unless it succeeded. */
  errorRate: number | null;
  errorsByType: Partial<Record<ErrorType, number>> | null;
  durationMs: number | null;
  rowsPerSecond: number | null;
  retryQueueSize: number | null;
  errorType: string | null;
  errorMessage: string | null;
}

/** The design's SyncStatistics: the summary and the latest runs. */
export interface SyncStatistics {
  summary: SyncSummary;
  recentRuns: RunStatistics[];
}

const num = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));
const time = (x: unknown): Date | null => (x === null || x === undefined ? null : new Date(x as string | Date));

/**
 * Sync statistics (the design's `getSyncStatistics`), read from the views an
 * analyst reads: `buyer_sync.dashboard_summary` and the latest `recentRuns`
 * (20 when absent) of `buyer_sync.run_stats`, newest first.
 */
export async function getSyncStatistics(db: Db, options: { recentRuns?: number } = {}): Promise<SyncStatistics> {
  return withPool(db, async (pool) => {
    const { rows: s } = await pool.query<Record<string, unknown>>(`select * from buyer_sync.dashboard_summary`);
    const { rows: runs } = await pool.query<Record<string, unknown>>(
      `select * from buyer_sync.run_stats order by started_at desc, run_id limit $1`,
      [options.recentRuns ?? 20],
    );
    const r = s[0] ?? {};
    return {
      summary: {
        lastSyncTime: time(r.last_sync_time),
        errorRate: num(r.error_rate),
        rowSuccessRate: num(r.row_success_rate),
        runs24h: num(r.runs_24h) ?? 0,
        failedRuns24h: num(r.failed_runs_24h) ?? 0,
        runSuccessRate24h: num(r.run_success_rate_24h),
        missingCount: num(r.missing_count) ?? 0,
        extraCount: num(r.extra_count) ?? 0,
        spreadsheetCount: num(r.spreadsheet_count) ?? 0,
        databaseCount: num(r.database_count) ?? 0,
        sheetReadAt: time(r.sheet_read_at),
        retryQueueSize: num(r.retry_queue_size) ?? 0,
        oldestRetryAt: time(r.oldest_retry_at),
        permanentFailures: num(r.permanent_failures) ?? 0,
        openAlerts: num(r.open_alerts) ?? 0,
        lastSyncDurationMs: num(r.last_sync_duration_ms),
        lastSyncRowsPerSecond: num(r.last_sync_rows_per_second),
        lastVerificationAt: time(r.last_verification_at),
        lastVerificationPassed: (r.last_verification_passed as boolean | null | undefined) ?? null,
        lastVerificationSummary: (r.last_verification_summary as string | null | undefined) ?? null,
        lastCheckHealthy: (r.last_check_healthy as boolean | null | undefined) ?? null,
        lastCheckTime: time(r.last_check_time),
      },
      recentRuns: runs.map((x) => ({
        runId: x.run_id as string,
        startedAt: new Date(x.started_at as Date),
        finishedAt: time(x.finished_at),
        mode: x.mode as string,
        status: x.status as string,
        failure: (x.failure as string | null) ?? null,
        source: (x.source as string | null) ?? null,
        totalRows: num(x.total_rows),
        blankRows: num(x.blank_rows),
        nonBlankRows: num(x.non_blank_rows),
        inserted: num(x.inserted),
        updated: num(x.updated),
        unchanged: num(x.unchanged),
        failed: num(x.failed),
        errorRate: num(x.error_rate),
        errorsByType: (x.errors_by_type as Partial<Record<ErrorType, number>> | null) ?? null,
        durationMs: num(x.duration_ms),
        rowsPerSecond: num(x.rows_per_second),
        retryQueueSize: num(x.retry_queue_size),
        errorType: (x.error_type as string | null) ?? null,
        errorMessage: (x.error_message as string | null) ?? null,
      })),
    };
  });
}

/** What a verification is given. */
export type VerifyOptions = Omit<VerifyRequest, 'keepSource'>;

/**
 * A verification (the design's `IntegrityChecker.generateReport`): reads the
 * sheet under the sync lock, checks that every sheet buyer is in the database
 * (completeness) and that `sample` buyers (null: every one) match column by
 * column (accuracy), stores the report and returns it. Throws a
 * {@link CannotRunError} while a sync runs or when the sheet cannot be read.
 */
export async function verify(db: Db, options: VerifyOptions): Promise<VerificationReport> {
  return withPool(db, (pool) => verifyIntegrity(pool, options));
}

/**
 * The missing-buyer report (`buyer-sync missing`): reads the sheet's buyer
 * numbers now and returns both set differences, sheet buyers not in the
 * database (`missing`, with their sheet rows) and database buyers no longer
 * on the sheet (`extra`).
 */
export async function findMissing(
  db: Db,
  options: { source: SheetSource; mapping: Mapping; signal?: AbortSignal },
): Promise<MissingReport> {
  return withPool(db, (pool) => compareSheetAndDatabase(pool, options.source, options.mapping, options.signal));
}

/**
 * The error log (`buyer-sync errors`; the design's
 * `SyncErrorLogger.queryErrors`): entries of `sync_error_log` matching every
 * given filter, newest first, at most `limit`; `total` counts every match.
 */
export async function queryErrors(
  db: Db,
  filter: ErrorFilter = {},
): Promise<{ errors: SyncErrorLog[]; total: number }> {
  return withPool(db, (pool) => new SyncErrorLogger(pool).queryErrorPage(filter));
}

/** Error counts by type in a time range (the design's `SyncErrorLogger.getErrorStats`; `start` inclusive, `end` exclusive). */
export async function getErrorStats(db: Db, range: TimeRange = {}): Promise<ErrorStats> {
  return withPool(db, (pool) => new SyncErrorLogger(pool).getErrorStats(range));
}

/**
 * Writes one entry into `sync_error_log` (the design's
 * `SyncErrorLogger.logError`), for a caller that reports a failure of its own
 * about a buyer. Retryable by its type unless `retryable` says otherwise.
 * Never put a cell value other than the buyer number in the message.
 */
export async function logError(db: Db, error: SyncErrorInfo): Promise<void> {
  return withPool(db, (pool) => new SyncErrorLogger(pool).logError(error));
}

/**
 * The sync report (`buyer-sync report`, the report tab): counts, the latest
 * verification, and a line per row failing now, buyer number on more than
 * one row, look-alike buyer number and database buyer no longer on the sheet.
 */
export async function report(db: Db): Promise<Report> {
  return withPool(db, (pool) => buildReport(pool));
}
