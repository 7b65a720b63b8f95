/**
 * How a sync failure is told: a database error described without the values
 * PostgreSQL may quote, a stack trace without its message line, and a run
 * that could not finish recorded with its real reason: in sync_runs when the
 * database can be reached (tried on fresh connections, since the run's own
 * connection is usually the one that died), else in the local run journal,
 * which the next run replays. Either way the operator gets one line.
 */
import type pg from 'pg';
import { CannotRunError, SourceUnavailableError } from '../errors.ts';
import { categorizeError, emptyErrorCounts, errorCode, isConnectionLevel, type ErrorType } from './error-types.ts';
import type { RunJournal } from './run-journal.ts';
import { MassChangeRefused } from './mass-change.ts';
import { insertErrors } from './sql/error-log.ts';
import { finishRun, recordRefusedRun, type RefusedRun, type RunFailure, type RunFailureRecord } from './sql/runs.ts';
import type { RunCounts } from './types.ts';
import { CommitUnknown, SyncAbortedError, SyncCancelled } from './errors.ts';

/**
 * A database error described without the values PostgreSQL may quote in its
 * message or detail. (No column can carry a length limit here: the schema
 * check refuses the run while one does, so a 22001 comes from a trigger or a
 * constraint, which PostgreSQL does not tie to a column.)
 */
export function safeDatabaseError(err: unknown): string {
  const e = err as { code?: string; constraint?: string; column?: string; table?: string; dataType?: string };
  const code = e.code ?? 'no SQLSTATE';
  switch (categorizeError(err)) {
    case 'field_length':
      return code === '54000'
        ? 'the database rejected the row (54000: a value is too large for an index or a limit of the server)'
        : 'the database rejected the row (22001 value too long)';
    case 'constraint_violation':
      return `the database rejected the row (${code}${e.constraint ? `, constraint ${e.constraint}` : ''}${e.column ? `, column ${e.column}` : ''})`;
    case 'data_type':
      return `the database could not store a value (${code}${e.column ? `, column ${e.column}` : ''}${e.dataType ? `, type ${e.dataType}` : ''})`;
    case 'transient':
      return `the database failed on the row for a passing reason (${code}: ${code === '57014' ? 'statement cancelled' : code.startsWith('40') ? 'serialization failure or deadlock' : 'try again'})`;
    default:
      return `the database failed on the row (${code})`;
  }
}

/** A stack trace with its first line (which repeats the message, possibly quoting values) replaced. */
export function safeStack(err: unknown, message: string): string | null {
  const stack = err instanceof Error ? err.stack : undefined;
  if (!stack) return null;
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return [`${(err as Error).name}: ${message}`, ...frames].join('\n');
}

export interface FailureContext {
  pool: pg.Pool;
  /** Where a failure goes when the database cannot be told; null: nowhere but the message. */
  journal: RunJournal | null;
  /** What the process knows about a lost database that a socket error does not say (the embedded server stopped). */
  databaseGone?: () => Promise<string | null>;
}

/** Why a run stopped, in one line without values, its error category and its failure category. */
function cause(err: unknown, gone: string | null): { errorType: ErrorType; failure: RunFailure; text: string } {
  if (err instanceof CommitUnknown) return { errorType: 'transient', failure: 'database', text: err.message };
  if (err instanceof SyncCancelled)
    return { errorType: 'transient', failure: 'cancelled', text: `stopped: ${err.message}` };
  if (err instanceof SourceUnavailableError) return { errorType: 'transient', failure: 'sheet', text: err.message };
  if (err instanceof MassChangeRefused) return { errorType: 'unknown', failure: 'mass_change', text: err.message };
  // Mid-run, our own refusals are the sheet's: not a table, invalid CSV, changed while read.
  if (err instanceof CannotRunError) return { errorType: 'unknown', failure: 'sheet', text: err.message };
  const errorType = categorizeError(err);
  if (errorType === 'transient' || isConnectionLevel(err)) {
    const code = errorCode(err) ?? 'connection closed';
    return {
      errorType: 'transient',
      failure: 'database',
      text: `the database connection was lost (${code})${gone ? `: ${gone}` : ''}`,
    };
  }
  const code = errorCode(err);
  return {
    errorType,
    failure: code ? 'database' : 'error',
    text: code ? `database error ${code}` : ((err as Error)?.message ?? String(err)),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A dry run that could not finish: it recorded nothing, so there is nothing to record; one line says why. */
export function dryRunStopped(err: unknown, counts: RunCounts): CannotRunError {
  if (err instanceof CannotRunError && !(err instanceof SourceUnavailableError)) return err;
  return new CannotRunError(
    `the dry run stopped after ${counts.totalRows} rows: ${cause(err, null).text}; nothing was written`,
    { cause: err },
  );
}

/**
 * Records a run that could not finish (nothing it did was committed) and
 * builds the operator's one line.
 */
export async function abortRun(
  ctx: FailureContext,
  runId: string,
  err: unknown,
  counts: RunCounts,
  durationMs: number,
): Promise<SyncAbortedError> {
  const gone = isConnectionLevel(err) && ctx.databaseGone ? await ctx.databaseGone().catch(() => null) : null;
  const { errorType, failure, text } = cause(err, gone);
  const again =
    err instanceof CannotRunError || err instanceof SyncCancelled || err instanceof CommitUnknown
      ? ''
      : '; run the sync again';
  const message =
    err instanceof CommitUnknown
      ? `sync run ${runId}: the database connection was lost (${errorCode(err.cause) ?? 'connection closed'}) as the run committed, and the database ` +
        'cannot be asked whether it did: sync_runs will say (succeeded: it was written; otherwise nothing was)'
      : `sync run ${runId} stopped after ${counts.totalRows} rows and wrote nothing: ${text}`;
  const record: RunFailureRecord = { failure, errorType, message };
  const unrecorded = await recordAbort(ctx, runId, err, record, abortedCounts(counts, durationMs));
  const note = unrecorded === null ? '' : await journalNote(ctx, runId, record, unrecorded);
  return new SyncAbortedError(`${message}${again}${note}`, runId, errorType, { cause: err });
}

/** Nothing of a stopped run was written: its record counts the rows it read, and nothing else. */
function abortedCounts(counts: RunCounts, durationMs: number): RunCounts {
  return {
    ...counts,
    blankRows: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    failed: 0,
    errorsByType: emptyErrorCounts(),
    durationMs,
    rowsPerSecond: 0,
  };
}

/**
 * Finishes the stopped run's record as failed, with its run-level entry in
 * the error log. The run's own connection is usually the one that died: tried
 * on fresh ones, briefly. Returns why sync_runs could not be told; null when
 * it was, or when the run was already finished (never overwritten).
 */
async function recordAbort(
  ctx: FailureContext,
  runId: string,
  err: unknown,
  record: RunFailureRecord,
  counts: RunCounts,
): Promise<unknown> {
  const { errorType, message } = record;
  let unrecorded: unknown = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      if (!(await finishRun(ctx.pool, runId, counts, record))) break; // already finished: never overwritten
      await insertErrors(ctx.pool, runId, [
        {
          rowNumber: null,
          buyerNumber: null,
          errorType,
          column: null,
          message,
          retryable: false,
          stack: errorType === 'unknown' ? safeStack(err, message) : null,
        },
      ]);
      unrecorded = null;
      break;
    } catch (e) {
      unrecorded = e;
      if (!isConnectionLevel(e) || errorCode(e) === 'ECONNREFUSED') break;
      await sleep(200 * attempt);
    }
  }
  return unrecorded;
}

/** A failure sync_runs could not be told goes to the run journal, for the next run to record; the operator's line says which. */
async function journalNote(
  ctx: FailureContext,
  runId: string,
  { errorType, failure, message }: RunFailureRecord,
  unrecorded: unknown,
): Promise<string> {
  const why = errorCode(unrecorded) ?? (unrecorded as Error)?.message ?? String(unrecorded);
  try {
    await ctx.journal?.add({ runId, errorType, failure, message, at: new Date().toISOString() });
    return ctx.journal
      ? ` (sync_runs could not be told now, ${why}; the next sync records it)`
      : ` (sync_runs could not be told, ${why})`;
  } catch {
    return ` (sync_runs could not be told, ${why})`;
  }
}

/**
 * Records a run refused before it read the sheet (the schema check, the
 * mapping, a sheet that cannot be opened or whose header is refused), so that
 * a day of refused syncs shows as failed runs, not as a quiet day. The error
 * is returned to be thrown as it is: the operator's line does not change. If
 * the database cannot be told, the run journal keeps it for the next run.
 */
export async function refuseRun(
  ctx: FailureContext,
  run: Omit<RefusedRun, 'at'>,
  failure: RunFailure,
  err: unknown,
): Promise<unknown> {
  const text = err instanceof Error ? err.message : String(err);
  const errorType: ErrorType =
    err instanceof SourceUnavailableError
      ? 'transient'
      : err instanceof CannotRunError
        ? 'unknown'
        : categorizeError(err);
  const record = {
    failure,
    errorType,
    message: `sync refused, nothing read or written: ${text.replace(/^sync refused, nothing written: /, '')}`,
  };
  try {
    await recordRefusedRun(ctx.pool, { ...run, at: null }, record);
  } catch (e) {
    if (isConnectionLevel(e)) {
      await ctx.journal
        ?.add({
          runId: run.id,
          ...record,
          at: new Date().toISOString(),
          refused: { mode: run.mode, source: run.source, batchSize: run.batchSize, durationMs: run.durationMs },
          target: ctx.journal.target,
        })
        .catch(() => undefined);
    }
  }
  return err;
}
