/**
 * The sync's vocabulary: what a run is asked to do, what it reports, and the
 * entries it writes. Types (and the defaults they imply) only, so every part
 * of the engine imports them without cycles.
 */
import type { Queryable } from '../db/queryable.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { SheetSource } from '../sheet/source.ts';
import { emptyErrorCounts, type ErrorType } from './error-types.ts';
import type { RaisedAlert } from './sql/alerts.ts';

export type { Queryable };

/** Sheet rows per batch unless SYNC_BATCH_SIZE or --batch-size say otherwise (the design's Property 21). */
export const DEFAULT_BATCH_SIZE = 100;

/**
 * The mass-change guard: a run that would update more than `maxPercent` of
 * the buyers the database holds, and at least `min` of them, is refused
 * before it commits (engine.ts). Whatever the cause (a wrong encoding, shifted
 * columns, the wrong tab, a formula gone wrong), such a run is almost never
 * intended. Deletions never happen, so updates are all it has to watch.
 */
export interface MassChangeLimits {
  /** SYNC_MAX_CHANGED_PERCENT: 0 to 100. */
  maxPercent: number;
  /** SYNC_MAX_CHANGED_MIN: fewer updated buyers than this never trip it. */
  min: number;
}

export const DEFAULT_MASS_CHANGE: MassChangeLimits = { maxPercent: 25, min: 50 };

/** What the guard found in a run (reported by a dry run, recorded on a refusal). */
export interface MassChangeVerdict {
  /** Existing buyers the run would update. */
  updated: number;
  /** Buyers the database held before the run. */
  existing: number;
  /** updated / existing, in percent (two decimals). */
  percent: number;
  limits: MassChangeLimits;
  /** Whether it is beyond the limits. */
  beyond: boolean;
  /** Beyond them but let through: by --allow-mass-change, or by an approval (its id). */
  allowedBy: 'flag' | { approval: string } | null;
  /** The columns most changed, with how many buyers each (never values). */
  columns: { column: string; buyers: number }[];
}

/**
 * A batch also ends once its rows hold this many characters, so that a sheet
 * of huge cells never builds a statement beyond what V8 strings and the
 * PostgreSQL protocol (1 GB a message) can carry. Real sheets never get near
 * it (100 rows of 14 cells at Google's limit of 50,000 characters a cell are
 * 70 Mi, and real cells are a thousandth of that).
 */
export const BATCH_TEXT_BUDGET = 32 * 2 ** 20;

/**
 * full: the whole sheet. only: the listed buyer numbers (`sync --only`, the
 * missing-buyer recovery). retry: the listed buyer numbers whose retries are
 * due (a retry round); the same as only, recorded as a retry.
 */
export type SyncMode = 'full' | 'only' | 'retry';

export interface SyncProgress {
  rowsRead: number;
  batches: number;
  elapsedMs: number;
}

/** One sync run, as the command line and every worker task ask for it. */
export interface SyncRequest {
  mode: SyncMode;
  source: SheetSource;
  mapping: Mapping;
  /** The buyer numbers of an 'only' or 'retry' run. */
  keys?: string[] | null;
  batchSize?: number;
  /** Stops the run (rolled back, recorded as stopped): Ctrl-C, SIGTERM, a worker shutting down. */
  signal?: AbortSignal;
  onProgress?: (p: SyncProgress) => void;
  /** Called once per batch with the number of sheet rows in it (Property 21). */
  onBatch?: (size: number) => void;
  /** Warnings for the operator (unknown headers, numbers not on the sheet, lookalikes). */
  warn?: (line: string) => void;
  /** The same run, rolled back at the end: reports what it would do, changes nothing (not even sync_runs). */
  dryRun?: boolean;
  /** Leave the source's copy of the sheet for the caller to read again and release (the post-sync verification). */
  keepSource?: boolean;
  /** The sheet's version as found before the read (Drive's, for a Google sheet): recorded on the run (unchanged.ts). */
  sourceVersion?: string | null;
  /** Let a run beyond the mass-change guard's limits through (`sync --allow-mass-change`). */
  allowMassChange?: boolean;
}

/** What a dry run would have done. */
export interface DryRunPreview {
  insert: string[];
  update: { buyerNumber: string; changedColumns: string[] }[];
  fail: { buyerNumber: string | null; rowNumber: number; errorType: ErrorType; column: string | null }[];
}

export interface RunCounts {
  totalRows: number;
  blankRows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  batches: number;
  errorsByType: Record<ErrorType, number>;
  retryQueueSize: number | null;
  durationMs: number;
  rowsPerSecond: number;
}

/** The counts of a run before its first row. */
export function emptyRunCounts(): RunCounts {
  return {
    totalRows: 0,
    blankRows: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    batches: 0,
    errorsByType: emptyErrorCounts(),
    retryQueueSize: null,
    durationMs: 0,
    rowsPerSecond: 0,
  };
}

/** A finished run: its counts (as recorded in sync_runs) and what the operator should know. */
export interface SyncResult extends Omit<RunCounts, 'retryQueueSize'> {
  runId: string;
  mode: SyncMode;
  source: string;
  /** The CSV export's encoding and how it was chosen; null for the Sheets API. */
  encoding: { label: string; how: string } | null;
  retryQueueSize: number;
  warnings: string[];
  /** With keys: listed buyer numbers not found on the sheet. */
  notOnSheet: string[];
  /** Alerts the run raised or resolved (a dry run: would have). */
  alerts: RaisedAlert[];
  dryRun: boolean;
  /** A dry run's detail; null otherwise. */
  preview: DryRunPreview | null;
  /** What the mass-change guard found: always for a dry run; for a run only when it was beyond the limits (and let through). */
  massChange: MassChangeVerdict | null;
}

/** A failed row (or a run that stopped: row and buyer number null), as sync_error_log stores it. */
export interface ErrorEntry {
  rowNumber: number | null;
  buyerNumber: string | null;
  errorType: ErrorType;
  column: string | null;
  message: string;
  /** Whether the buyer was queued for retry because of it (sync_error_log.retryable). */
  retryable: boolean;
  stack: string | null;
}

/** A buyer to queue (or, when it has an open entry, whose schedule to advance). */
export interface RetryEntry {
  buyerNumber: string;
  rowNumber: number;
  source: string;
  /** The failing row's hash (its cells as the sheet showed them): another row failing starts a fresh schedule. */
  rowHash: string;
  info: Record<string, unknown>;
}

/** What one batch asks of the database, in one statement. */
export interface BatchWrite {
  /** New buyers (not in the database when the run started). */
  inserts: { key: string; values: (string | null)[] }[];
  /** Existing buyers whose content changed. */
  updates: { key: string; values: (string | null)[] }[];
  errors: ErrorEntry[];
  retries: RetryEntry[];
  /** Buyers that synced fine this run and had an open retry-queue entry. */
  resolved: string[];
}

/** The md5 of a sheet read's first `count` (buyer number, row) entries, to compare with the stored snapshot's. */
export interface KeysPrefix {
  count: number;
  hash: string;
}
