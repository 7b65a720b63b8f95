/**
 * Bounded history (issue 16): the daily history__prune job. The policy is
 * SQL (buyer_sync.retention, one row per kind of history, changed with
 * update) and so is the work (buyer_sync.prune_history(batch_size): one round,
 * at most batch_size rows per statement, children before their parents).
 * Here the rounds are called, each in its own transaction so that no lock is
 * held for longer than one round, until a round deletes nothing, the round
 * limit is reached or the job is asked to stop; then one line for the
 * operator with the rows deleted per table.
 */
import type pg from 'pg';
import { fmt } from '../format.ts';
import { workerContext } from './context.ts';
import { pruneHistoryRound } from './sql.ts';

/** Rows per statement: small enough that a round of a huge backlog takes well under a second or two. */
const DEFAULT_PRUNE_BATCH = 5000;
/** Rounds per job: at the default batch, up to 5,000,000 rows of each table a day; the rest waits for the next day. */
const DEFAULT_PRUNE_ROUNDS = 1000;

export interface PruneOptions {
  batchSize?: number;
  maxRounds?: number;
  signal?: AbortSignal;
}

export interface PruneResult {
  /** Rows deleted per table (every table buyer_sync.prune_history reports, zeros included), in its order. */
  deleted: Map<string, number>;
  /** Rounds called (the last one, when complete, deleted nothing). */
  rounds: number;
  /** Whether a round found nothing left to delete (false: stopped by the round limit or the abort signal). */
  complete: boolean;
  aborted: boolean;
  ms: number;
}

/** Calls buyer_sync.prune_history until a round deletes nothing (or maxRounds, or the signal). */
export async function pruneHistory(pool: pg.Pool, opts: PruneOptions = {}): Promise<PruneResult> {
  const batchSize = opts.batchSize ?? DEFAULT_PRUNE_BATCH;
  const maxRounds = opts.maxRounds ?? DEFAULT_PRUNE_ROUNDS;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`the prune batch size must be a positive whole number (got ${batchSize})`);
  if (!Number.isInteger(maxRounds) || maxRounds < 1)
    throw new Error(`the prune round limit must be a positive whole number (got ${maxRounds})`);
  const started = performance.now();
  const deleted = new Map<string, number>();
  let rounds = 0;
  let complete = false;
  while (rounds < maxRounds && !opts.signal?.aborted) {
    // One statement, so one transaction: its locks go at its end.
    const rows = await pruneHistoryRound(pool, batchSize);
    rounds++;
    let round = 0;
    for (const r of rows) {
      const n = Number(r.deleted);
      deleted.set(r.table_name, (deleted.get(r.table_name) ?? 0) + n);
      round += n;
    }
    if (round === 0) {
      complete = true;
      break;
    }
  }
  return {
    deleted,
    rounds,
    complete,
    aborted: !complete && (opts.signal?.aborted ?? false),
    ms: performance.now() - started,
  };
}

/** The operator's line: every table with something deleted, and whether anything is left. */
export function pruneLine(r: PruneResult): string {
  const total = [...r.deleted.values()].reduce((a, b) => a + b, 0);
  const parts = [...r.deleted].filter(([, n]) => n > 0).map(([t, n]) => `${t} ${fmt(n)}`);
  const end = r.complete
    ? 'nothing older is left'
    : r.aborted
      ? 'stopped early (the rest at the next prune)'
      : `round limit reached after ${fmt(r.rounds)} rounds (the rest at the next prune)`;
  return `history prune: ${fmt(total)} row(s) deleted${parts.length ? ` (${parts.join(', ')})` : ''} in ${fmt(r.rounds)} round(s), ${(r.ms / 1000).toFixed(2)} s; ${end}`;
}

/** The history__prune job: prunes by buyer_sync.retention and logs one line. */
export async function pruneHistoryJob(
  signal?: AbortSignal,
  opts: Omit<PruneOptions, 'signal'> = {},
): Promise<PruneResult> {
  const c = workerContext();
  const result = await pruneHistory(c.pool, { ...opts, ...(signal ? { signal } : {}) });
  c.log(pruneLine(result));
  return result;
}
