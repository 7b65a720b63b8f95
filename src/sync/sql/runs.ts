/**
 * sync_runs and the lock that keeps runs apart: one row per run, written on
 * its own connection (so a run that stops is still recorded), and a
 * transaction-level advisory lock held by the run's transaction.
 */
import type pg from 'pg';
import type { ErrorType } from '../error-types.ts';
import type { Queryable, RunCounts, SyncMode } from '../types.ts';

/**
 * Why a run failed (sync_runs.failure): blocked (the schema check or the
 * mapping refused it before the sheet was read), sheet (the sheet could not
 * be read or was refused), database (the connection was lost, the database
 * failed), cancelled (stopped on purpose), interrupted (its process died),
 * mass_change (the mass-change guard refused it before it committed), error
 * (anything else).
 */
export type RunFailure = 'blocked' | 'sheet' | 'database' | 'cancelled' | 'interrupted' | 'mass_change' | 'error';

export interface RunFailureRecord {
  failure: RunFailure;
  errorType: ErrorType;
  message: string;
}

/** Any constant: the lock that keeps two sync runs (of any mode, from any process) from overlapping. */
const SYNC_LOCK = 7_340_001;

/** Takes the sync lock for the client's transaction; false when another run holds it. */
export async function tryRunLock(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [SYNC_LOCK]);
  return rows[0]?.ok === true;
}

export interface RunRecordStart {
  mode: SyncMode;
  source: string;
  batchSize: number;
  /** The CSV export's encoding; null for the Sheets API. */
  encoding: string | null;
  /** The run's id when the caller chose it (a dry run records its run again on each pass). */
  id?: string;
  /** The sheet's version as found before the read (a Google sheet's Drive version). */
  sourceVersion?: string | null;
}

export async function startRun(db: Queryable, run: RunRecordStart): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `insert into public.sync_runs (id, mode, source, batch_size, encoding, source_version)
     values (coalesce($5::uuid, gen_random_uuid()), $1, $2, $3, $4, $6) returning id`,
    [run.mode, run.source, run.batchSize, run.encoding, run.id ?? null, run.sourceVersion ?? null],
  );
  return { id: rows[0]!.id };
}

/**
 * Finishes a run's record: succeeded (inside the run's transaction, so it is
 * written exactly when the run is), or failed with why. Only a run still
 * marked running is finished: a committed run is never turned into a failed
 * one. Returns whether it was.
 */
export async function finishRun(
  db: Queryable,
  runId: string,
  counts: RunCounts,
  failure: RunFailureRecord | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update public.sync_runs
        set finished_at = clock_timestamp(), status = $2,
            total_rows = $3, blank_rows = $4, inserted = $5, updated = $6, unchanged = $7, failed = $8,
            batches = $9, errors_by_type = $10, retry_queue_size = $11, duration_ms = $12, rows_per_second = $13,
            error_type = $14, error_message = $15, failure = $16
      where id = $1 and status = 'running'`,
    [
      runId,
      failure ? 'failed' : 'succeeded',
      counts.totalRows,
      counts.blankRows,
      counts.inserted,
      counts.updated,
      counts.unchanged,
      counts.failed,
      counts.batches,
      JSON.stringify(counts.errorsByType),
      counts.retryQueueSize,
      Math.round(counts.durationMs),
      Math.round(counts.rowsPerSecond * 100) / 100,
      failure?.errorType ?? null,
      failure?.message ?? null,
      failure?.failure ?? null,
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** A run's status as the database has it: what a lost commit acknowledgement leaves to ask. */
export async function runStatus(db: Queryable, runId: string): Promise<string | null> {
  const { rows } = await db.query<{ status: string }>(`select status from public.sync_runs where id = $1`, [runId]);
  return rows[0]?.status ?? null;
}

/**
 * Runs still marked running while we hold the sync lock (and after the run
 * journal was replayed) belong to processes that died without a word (killed,
 * machine lost): their transaction rolled back, so they wrote nothing. Say so.
 */
export async function closeInterruptedRuns(db: Queryable): Promise<void> {
  await db.query(
    `update public.sync_runs
        set status = 'failed', finished_at = clock_timestamp(), error_type = 'transient', failure = 'interrupted',
            error_message = 'interrupted: the run''s process stopped (killed, or its machine lost) before it could record why; nothing of the run was written'
      where status = 'running'`,
  );
}

/**
 * Records why a run stopped, if it is still marked running (a finished record
 * is never overwritten), with the run-level entry in the error log (never
 * queued: retryable false). Returns whether it did.
 */
export async function markRunFailed(db: Queryable, runId: string, f: RunFailureRecord, at: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    `with run as (
       update public.sync_runs
          set status = 'failed', finished_at = $4, error_type = $2, error_message = $3, failure = $5
        where id = $1 and status = 'running'
       returning id
     )
     insert into public.sync_error_log (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, created_at)
     select id, null, null, $2, null, $3, false, $4 from run`,
    [runId, f.errorType, f.message, at, f.failure],
  );
  return (rowCount ?? 0) > 0;
}

export interface RefusedRun {
  /** Chosen by the caller, so that a refusal the database could not be told can be recorded later under the same id. */
  id: string;
  mode: SyncMode;
  source: string;
  batchSize: number;
  /** When it was refused, by this machine's clock (a refusal recorded later); null: now, by the database's. */
  at: Date | null;
  durationMs: number;
}

/**
 * Records a run that was refused before it read the sheet, or could not read
 * it (nothing written), with its run-level entry in the error log. Recording
 * the same id twice does nothing. Returns whether it recorded it.
 */
export async function recordRefusedRun(db: Queryable, run: RefusedRun, f: RunFailureRecord): Promise<boolean> {
  const { rowCount } = await db.query(
    `with times as (
       select coalesce($2::timestamptz, clock_timestamp()) - $9::integer * interval '1 millisecond' as started_at,
              coalesce($2::timestamptz, clock_timestamp()) as finished_at
     ),
     run as (
       insert into public.sync_runs (id, started_at, finished_at, status, mode, source, batch_size, duration_ms,
                                     error_type, error_message, failure)
       select $1, t.started_at, t.finished_at, 'failed', $3, $4, $5, $9, $6, $7, $8 from times t
       on conflict (id) do nothing
       returning id, finished_at
     )
     insert into public.sync_error_log (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, created_at)
     select id, null, null, $6, null, $7, false, finished_at from run`,
    [
      run.id,
      run.at,
      run.mode,
      run.source,
      run.batchSize,
      f.errorType,
      f.message,
      f.failure,
      Math.max(0, Math.round(run.durationMs)),
    ],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Records a run that found the sync lock held (another run, or a
 * verification, in progress): skipped, kind busy, saying which run held it
 * when a run record says so. It read and wrote nothing. Returns its id.
 */
export async function recordBusyRun(
  db: Queryable,
  run: { mode: SyncMode; source: string; batchSize: number; durationMs: number },
): Promise<{ id: string; because: string }> {
  const { rows } = await db.query<{ id: string; because: string }>(
    `with holder as (
       select r.id, r.mode, r.started_at from public.sync_runs r
        where r.status = 'running'
        order by r.started_at desc
        limit 1
     )
     insert into public.sync_runs (mode, status, skipped_kind, source, batch_size, started_at, finished_at, duration_ms, skipped_because)
     select $1, 'skipped', 'busy', $2, $3, clock_timestamp() - $4::integer * interval '1 millisecond', clock_timestamp(), $4,
            coalesce((select format('busy: another sync run (%s, %s) held the sync lock, running since %s', h.id, h.mode,
                                    to_char(h.started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                        from holder h),
                     'busy: another sync run or a verification held the sync lock')
     returning id, skipped_because as because`,
    [run.mode, run.source, run.batchSize, Math.max(0, Math.round(run.durationMs))],
  );
  return rows[0]!;
}

/** The latest succeeded full read of a sheet: what the unchanged-sheet check and the report writer compare with. */
export interface LastFullRead {
  id: string;
  source_version: string | null;
  age_ms: number;
  failed: number;
}

/**
 * The latest succeeded full sync of `source`, whichever tab it resolved: a
 * run records the tab (`gsheets:<id>#gid=…`), so sheets compare without it.
 */
export async function lastFullRead(db: Queryable, source: string): Promise<LastFullRead | undefined> {
  const { rows } = await db.query<LastFullRead>(
    `select id, source_version, failed, (extract(epoch from now() - started_at) * 1000)::float8 as age_ms
       from public.sync_runs
      where mode = 'full' and status = 'succeeded'
        and split_part(source, '#', 1) = split_part($1, '#', 1)
      order by started_at desc
      limit 1`,
    [source],
  );
  return rows[0];
}
