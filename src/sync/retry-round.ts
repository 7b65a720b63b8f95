/**
 * A retry round (the design's RetryManager.processQueue): the retry-queue
 * entries due now, grouped by the sheet their failing run read, each group
 * one 'retry' run that re-reads the buyers' current rows from that sheet once
 * (not once per buyer). A buyer that syncs closes its entry (synced, the
 * success logged by resolved_run_id and resolved_at); one that fails again
 * moves along the schedule (buyer_sync.next_retry_at), after the last attempt
 * to failed with a critical permanent_failure alert; one whose row left the
 * sheet closes as left_sheet.
 *
 * A round takes at most `limit` entries, oldest due first: a storm of
 * failures (a sheet-wide mistake) is worked off round by round instead of in
 * one giant run. A sheet that cannot be read (or another sync holding the
 * lock) is not the buyers' fault: their entries stay as they are (no attempt
 * is counted) and the round says so.
 */
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import type { Mapping } from '../mapping/mapping.ts';
import type { SheetSource } from '../sheet/source.ts';
import { syncBuyers, type EngineOptions } from './engine.ts';
import { dueRetries, retryOutcomes } from './sql/retry-queue.ts';
import type { SyncResult } from './types.ts';

export interface RetryRoundOptions {
  mapping: Mapping;
  /** At most this many entries a round (RETRY_ROUND_LIMIT). */
  limit: number;
  /** The sheet to re-read for entries made by a run that read `description` (null: the configured sheet). */
  sourceFor: (description: string | null) => SheetSource;
  batchSize?: number;
  signal?: AbortSignal;
  warn?: (line: string) => void;
  engine?: EngineOptions;
}

/** `retry --json`: {processed, succeeded, failed, permanently_failed} (contract.md), and what the operator should know. */
export interface RetryRoundResult {
  processed: number;
  succeeded: number;
  failed: number;
  permanentlyFailed: number;
  /** Of the succeeded: entries closed because the buyer's row left the sheet. */
  leftSheet: number;
  /** Due entries left for the next round (over the limit). */
  deferred: number;
  runs: SyncResult[];
  /** Groups whose run could not run (the sheet unreadable, another sync running): their entries wait, unchanged. */
  skipped: { source: string; reason: string }[];
}

export function retryRoundJson(r: RetryRoundResult) {
  return { processed: r.processed, succeeded: r.succeeded, failed: r.failed, permanently_failed: r.permanentlyFailed };
}

export async function processRetryQueue(pool: pg.Pool, options: RetryRoundOptions): Promise<RetryRoundResult> {
  const { due, more } = await dueRetries(pool, options.limit);
  const result: RetryRoundResult = {
    processed: 0,
    succeeded: 0,
    failed: 0,
    permanentlyFailed: 0,
    leftSheet: 0,
    deferred: more,
    runs: [],
    skipped: [],
  };
  if (more > 0)
    options.warn?.(
      `${more} more retr${more === 1 ? 'y is' : 'ies are'} due than a round takes (RETRY_ROUND_LIMIT=${options.limit}); the next round goes on`,
    );
  const bySource = new Map<string | null, string[]>();
  for (const d of due) bySource.set(d.source, [...(bySource.get(d.source) ?? []), d.buyerNumber]);
  for (const [description, keys] of bySource) {
    if (options.signal?.aborted) break;
    let source: SheetSource;
    try {
      source = options.sourceFor(description);
    } catch (err) {
      result.skipped.push({ source: description ?? '(the configured sheet)', reason: (err as Error).message });
      continue;
    }
    try {
      const run = await syncBuyers(
        pool,
        {
          mode: 'retry',
          source,
          mapping: options.mapping,
          keys,
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.warn ? { warn: options.warn } : {}),
        },
        options.engine,
      );
      result.runs.push(run);
      const o = await retryOutcomes(pool, run.runId, keys);
      result.succeeded += o.succeeded;
      result.leftSheet += o.leftSheet;
      result.failed += o.failed;
      result.permanentlyFailed += o.permanentlyFailed;
      result.processed += o.succeeded + o.failed + o.permanentlyFailed;
    } catch (err) {
      if (!(err instanceof CannotRunError) || options.signal?.aborted) throw err;
      result.skipped.push({ source: source.description, reason: err.message });
    }
  }
  return result;
}
