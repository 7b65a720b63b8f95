/**
 * SyncErrorLogger (design §3): writes and queries sync_error_log. Entries
 * never carry a cell value other than the buyer number.
 */
import { insertErrors } from './sql/error-log.ts';
import type { Queryable } from './types.ts';
import { categorizeError, isRetryable, ERROR_TYPES, type ErrorType } from './error-types.ts';

export interface SyncErrorInfo {
  buyerNumber: string | null;
  rowNumber: number | null;
  errorMessage: string;
  errorType: ErrorType;
  stackTrace?: string | null;
  retryable?: boolean;
  columnName?: string | null;
  runId?: string | null;
}

export interface ErrorFilter {
  startDate?: Date;
  endDate?: Date;
  errorType?: ErrorType;
  buyerNumber?: string;
  runId?: string;
  limit?: number;
}

export interface SyncErrorLog {
  id: string;
  buyerNumber: string | null;
  rowNumber: number | null;
  errorMessage: string;
  errorType: ErrorType;
  retryable: boolean;
  columnName: string | null;
  runId: string | null;
  createdAt: Date;
}

export interface TimeRange {
  start?: Date;
  end?: Date;
}

export interface ErrorStats {
  total: number;
  byType: Record<ErrorType, number>;
  retryable: number;
  buyers: number;
}

export class SyncErrorLogger {
  private readonly db: Queryable;
  constructor(db: Queryable) {
    this.db = db;
  }

  categorizeError(error: unknown): ErrorType {
    return categorizeError(error);
  }

  async logError(error: SyncErrorInfo): Promise<void> {
    await insertErrors(this.db, error.runId ?? null, [
      {
        rowNumber: error.rowNumber,
        buyerNumber: error.buyerNumber,
        errorType: error.errorType,
        column: error.columnName ?? null,
        message: error.errorMessage,
        retryable: error.retryable ?? isRetryable(error.errorType),
        stack: error.stackTrace ?? null,
      },
    ]);
  }

  /** Entries matching every given filter (Property 8), newest first. `startDate` inclusive, `endDate` exclusive. */
  async queryErrors(filter: ErrorFilter = {}): Promise<SyncErrorLog[]> {
    return (await this.queryErrorPage(filter)).errors;
  }

  /** queryErrors, and how many entries match in all (so a cut list says so). */
  async queryErrorPage(filter: ErrorFilter = {}): Promise<{ errors: SyncErrorLog[]; total: number }> {
    const { rows } = await this.db.query<{
      id: string;
      buyer_number: string | null;
      row_number: number | null;
      error_message: string;
      error_type: ErrorType;
      retryable: boolean;
      column_name: string | null;
      run_id: string | null;
      created_at: Date;
      total: number;
    }>(
      `select id, buyer_number, row_number, error_message, error_type, retryable, column_name, run_id, created_at,
              (count(*) over ())::int as total
         from public.sync_error_log
        where ($1::timestamptz is null or created_at >= $1)
          and ($2::timestamptz is null or created_at < $2)
          and ($3::text is null or error_type = $3)
          and ($4::text is null or buyer_number = $4)
          and ($5::uuid is null or run_id = $5)
        order by created_at desc, row_number nulls first, id
        limit $6`,
      [
        filter.startDate ?? null,
        filter.endDate ?? null,
        filter.errorType ?? null,
        filter.buyerNumber ?? null,
        filter.runId ?? null,
        filter.limit ?? null,
      ],
    );
    // count(*) over () is taken before the limit: every matching entry. No row: none matched (the limit is at least 1).
    const errors = rows.map((r) => ({
      id: r.id,
      buyerNumber: r.buyer_number,
      rowNumber: r.row_number,
      errorMessage: r.error_message,
      errorType: r.error_type,
      retryable: r.retryable,
      columnName: r.column_name,
      runId: r.run_id,
      createdAt: r.created_at,
    }));
    return { errors, total: rows[0]?.total ?? 0 };
  }

  /** Counts by type in a time range, from buyer_sync.error_stats. */
  async getErrorStats(range: TimeRange = {}): Promise<ErrorStats> {
    const { rows } = await this.db.query<{ error_type: ErrorType; error_count: string; retryable_count: string }>(
      `select error_type, error_count, retryable_count from buyer_sync.error_stats(coalesce($1, '-infinity'::timestamptz), coalesce($2, 'infinity'::timestamptz))`,
      [range.start ?? null, range.end ?? null],
    );
    const { rows: buyers } = await this.db.query<{ n: number }>(
      `select count(distinct buyer_number)::int as n from public.sync_error_log
        where created_at >= coalesce($1, '-infinity'::timestamptz) and created_at < coalesce($2, 'infinity'::timestamptz)`,
      [range.start ?? null, range.end ?? null],
    );
    const byType = Object.fromEntries(ERROR_TYPES.map((t) => [t, 0])) as Record<ErrorType, number>;
    let total = 0;
    let retryable = 0;
    for (const r of rows) {
      byType[r.error_type] = Number(r.error_count);
      total += Number(r.error_count);
      retryable += Number(r.retryable_count);
    }
    return { total, byType, retryable, buyers: buyers[0]?.n ?? 0 };
  }
}
