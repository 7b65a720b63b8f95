/**
 * retry_queue: buyers whose sync failed with a retryable error, and their
 * schedule (buyer_sync.next_retry_at, migration 056; what counts as an
 * attempt, migration 064). Entries are opened and advanced by the batch
 * statement (batch.ts); these close them and find the ones a retry round must do.
 */
import type { Queryable } from '../types.ts';

/**
 * Buyer numbers with an open (pending or processing) entry, and the sheet
 * their failing run read; `held`: buyers whose exhausted entry holds them
 * (migration 064), with the hash of the row that failed (null: an entry from
 * before row hashes, which holds whatever row fails next).
 */
export class OpenRetries extends Map<string, string | null> {
  readonly held = new Map<string, string | null>();
}

export async function openRetryBuyers(db: Queryable): Promise<OpenRetries> {
  const { rows } = await db.query<{
    buyer_number: string;
    source: string | null;
    held: boolean;
    row_hash: string | null;
  }>(
    `select buyer_number, source, false as held, row_hash from public.retry_queue where status in ('pending', 'processing')
     union all
     select buyer_number, source, true, row_hash from public.retry_queue where resolution = 'exhausted' and released_at is null`,
  );
  const open = new OpenRetries();
  for (const r of rows) {
    if (r.held) open.held.set(r.buyer_number, r.row_hash);
    else open.set(r.buyer_number, r.source);
  }
  return open;
}

export type Closing = 'synced' | 'left_sheet' | 'not_retryable';

/**
 * Closes the open entries of these buyers: synced (a row synced them) and
 * left_sheet (their row is gone) as succeeded, not_retryable (they failed in a
 * way retrying cannot fix) as failed, which raises the permanent_failure alert.
 */
export async function closeRetryEntries(db: Queryable, runId: string, buyers: string[], how: Closing): Promise<void> {
  if (buyers.length === 0) return;
  await db.query(
    `update public.retry_queue
        set status = case when $3 = 'not_retryable' then 'failed' else 'succeeded' end,
            resolution = $3, resolved_at = statement_timestamp(), resolved_run_id = $1, last_run_id = $1,
            updated_at = statement_timestamp()
      where status in ('pending', 'processing') and buyer_number = any($2::text[])`,
    [runId, buyers, how],
  );
}

/** Entries this run opened and then saw synced by a later row: nothing was ever to be retried (a succeeded entry may be deleted, contract.md). */
export async function discardRetryEntries(db: Queryable, runId: string, buyers: string[]): Promise<void> {
  if (buyers.length === 0) return;
  await db.query(
    `delete from public.retry_queue where status in ('pending', 'processing') and last_run_id = $1 and buyer_number = any($2::text[])`,
    [runId, buyers],
  );
}

export async function retryQueueSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from public.retry_queue where status in ('pending', 'processing')`,
  );
  return rows[0]?.n ?? 0;
}

export interface DueRetry {
  buyerNumber: string;
  /** The sheet of the run that failed (null for entries made before sources were recorded). */
  source: string | null;
}

/**
 * The entries due now (on the schedule's clock, buyer_sync_private.now()),
 * oldest first, at most `limit` of them (a retry storm waits for the next round).
 */
export async function dueRetries(db: Queryable, limit: number): Promise<{ due: DueRetry[]; more: number }> {
  const { rows } = await db.query<{ buyer_number: string; source: string | null; total: number }>(
    `select buyer_number, source, (count(*) over ())::int as total
       from public.retry_queue
      where status = 'pending' and next_retry_at <= buyer_sync_private.now()
      order by next_retry_at, buyer_number
      limit $1`,
    [limit],
  );
  return {
    due: rows.map((r) => ({ buyerNumber: r.buyer_number, source: r.source })),
    more: Math.max(0, (rows[0]?.total ?? 0) - rows.length),
  };
}

export interface RetryOutcomes {
  succeeded: number;
  failed: number;
  permanentlyFailed: number;
  leftSheet: number;
}

/** What a retry run did to the entries of these buyers. */
export async function retryOutcomes(db: Queryable, runId: string, buyers: string[]): Promise<RetryOutcomes> {
  const { rows } = await db.query<{
    succeeded: number;
    failed: number;
    permanently_failed: number;
    left_sheet: number;
  }>(
    `select (count(*) filter (where status = 'succeeded' and resolved_run_id = $1))::int as succeeded,
            (count(*) filter (where status = 'succeeded' and resolved_run_id = $1 and resolution = 'left_sheet'))::int as left_sheet,
            (count(*) filter (where status = 'pending' and last_run_id = $1))::int as failed,
            (count(*) filter (where status = 'failed' and resolved_run_id = $1))::int as permanently_failed
       from public.retry_queue
      where buyer_number = any($2::text[])`,
    [runId, buyers],
  );
  const r = rows[0]!;
  return { succeeded: r.succeeded, failed: r.failed, permanentlyFailed: r.permanently_failed, leftSheet: r.left_sheet };
}
