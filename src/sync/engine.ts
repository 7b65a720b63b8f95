/**
 * One sync run, in any of its three modes: syncBuyers() is what the command
 * line and every worker task call. It accounts for every sheet row: each
 * non-blank row ends in the mapped table or in sync_error_log.
 *
 * - Everything that can refuse the run without reading the sheet comes first
 *   (the schema check, the mapping against the table): exit 3, nothing read.
 * - The run is one transaction holding the sync lock, so runs (of any mode,
 *   from any process) never overlap: a sheet that cannot be read to the end,
 *   or a connection lost mid-run, leaves the database exactly as it was.
 * - Rows are planned in batches (planner.ts) and each batch that has
 *   something to do is one statement (writer.ts); the next batch is planned
 *   while the database writes this one.
 * - A row the database refuses rolls the pass back and repeats it isolating
 *   each batch, so only the refused rows fail.
 * - A run that cannot finish is recorded with its reason (failure.ts); the
 *   source's snapshot of the sheet is released when the run ends, whatever
 *   the outcome.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import { CannotRunError } from '../errors.ts';
import { assertMappingFits } from '../mapping/check.ts';
import { resolveHeader } from '../mapping/mapping.ts';
import { alertsRaisedSoFar, evaluateAlerts } from '../monitor/alerts.ts';
import { printable, printableList } from '../printable.ts';
import { describeField, SchemaValidator } from '../schema/validator.ts';
import type { SheetReader, SheetRow } from '../sheet/source.ts';
import { errorCode, isConnectionLevel } from './error-types.ts';
import { abortRun, CommitUnknown, dryRunStopped, refuseRun, SyncCancelled, type FailureContext } from './failure.ts';
import { KeyIndex } from './key-index.ts';
import { openHint } from './open-hint.ts';
import { BatchPlanner } from './planner.ts';
import { rowRules, type RowRules } from './rows.ts';
import type { RunJournal } from './run-journal.ts';
import { batchStatement } from './sql/batch.ts';
import { markEarlierDuplicates } from './sql/error-log.ts';
import { buyerCount, loadContentHashes } from './sql/buyers.ts';
import { keyMaxLength } from './sql/policy.ts';
import { closeRetryEntries, discardRetryEntries, openRetryBuyers, retryQueueSize } from './sql/retry-queue.ts';
import { dryRunPreview } from './sql/preview.ts';
import { closeInterruptedRuns, finishRun, runStatus, startRun, tryRunLock, type RunFailure } from './sql/runs.ts';
import { replaceSheetSnapshot, snapshotCount } from './sql/snapshot.ts';
import { InsertStage } from './sql/stage.ts';
import { BATCH_TEXT_BUDGET, DEFAULT_BATCH_SIZE, emptyRunCounts, type RunCounts, type SyncRequest, type SyncResult } from './types.ts';
import { BatchWriter, RowRejected } from './writer.ts';

export interface EngineOptions {
  /** Where a run's failure is kept when the database cannot be told (run-journal.ts). */
  journal?: RunJournal | null;
  /** What the process knows of a lost database that a socket error does not say. */
  databaseGone?: () => Promise<string | null>;
}

/** Characters a row holds, to keep a batch within BATCH_TEXT_BUDGET. */
function rowText(cells: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < cells.length; i++) n += cells[i]!.length;
  return n;
}

/** Whether the run's transaction committed (its record says succeeded), asked on fresh connections; null when no one answers. */
async function committed(pool: pg.Pool, runId: string): Promise<boolean | null> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return (await runStatus(pool, runId)) === 'succeeded';
    } catch {
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
  return null;
}

/** Another run holds the sync lock: nothing to record (that run is recorded), try again later. */
export class SyncBusy extends CannotRunError {
  constructor() {
    super('another sync run is in progress; try again when it has finished');
    this.name = 'SyncBusy';
  }
}

/** The schema check, refusing with the table and column named. */
export async function assertSchema(db: pg.Pool | pg.ClientBase): Promise<void> {
  const result = await new SchemaValidator(db).validateBuyersSchema();
  if (!result.valid) {
    throw new CannotRunError(
      `sync refused, nothing written: ${result.nonTextFields.map(describeField).join('; ')}. ` +
        'Run `buyer-sync check-schema --fix` and then `buyer-sync migrate`.',
    );
  }
}

/** One sync run (see the module's comment); throws CannotRunError (exit 3) when it could not run or finish. */
export async function syncBuyers(pool: pg.Pool, request: SyncRequest, options: EngineOptions = {}): Promise<SyncResult> {
  const started = performance.now();
  const batchSize = request.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CannotRunError(`batch size must be a positive integer, got ${batchSize}`);
  const { mapping, source, mode } = request;
  if (mode === 'full' && request.keys) throw new CannotRunError('a full sync takes no buyer numbers');
  const keys = mode === 'full' ? null : [...new Set((request.keys ?? []).map((b) => b.trim()).filter((b) => b !== ''))];
  if (keys !== null && keys.length === 0) throw new CannotRunError(`a ${mode} sync needs at least one buyer number`);
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (warnings.includes(w)) return;
    warnings.push(w);
    request.warn?.(w);
  };
  const failures: FailureContext = { pool, journal: options.journal ?? null, ...(options.databaseGone ? { databaseGone: options.databaseGone } : {}) };
  const stopped = () => {
    if (request.signal?.aborted) throw new SyncCancelled(String(request.signal.reason ?? 'stopped'));
  };
  const dryRun = request.dryRun === true;
  // A run refused before it read the sheet is recorded as a failed run (a dry run records nothing).
  const refusalId = randomUUID();
  const refuse = async (failure: RunFailure, err: unknown): Promise<unknown> =>
    dryRun || err instanceof SyncBusy || err instanceof SyncCancelled
      ? err
      : refuseRun(failures, { id: refusalId, mode, source: source.description, batchSize, durationMs: performance.now() - started }, failure, err);
  const refusedAs = (err: unknown, stage: RunFailure): RunFailure =>
    err instanceof CannotRunError ? stage : isConnectionLevel(err) || errorCode(err) !== undefined ? 'database' : 'error';

  try {
    // Everything that can refuse the run without reading the sheet comes first.
    let maxKey: number;
    try {
      await assertSchema(pool);
      await assertMappingFits(pool, mapping);
      maxKey = await keyMaxLength(pool);
    } catch (err) {
      throw await refuse(refusedAs(err, 'blocked'), err);
    }

    const client = await pool.connect();
    let broken: Error | boolean | undefined = undefined;
    let runId: string | null = null;
    let counts = emptyRunCounts();
    /*
     * A session the server ends (pg_terminate_backend, a shutdown) says why
     * asynchronously (57P01, 57P02, …); the query that fails next only knows
     * that the connection is gone. Keep the server's reason for the record.
     */
    let serverSaid: unknown = null;
    const onError = (e: unknown) => (serverSaid ??= e);
    client.on('error', onError);
    const why = (e: unknown) => (errorCode(e) === undefined && errorCode(serverSaid) !== undefined && isConnectionLevel(e) ? serverSaid : e);
    try {
      for (let isolate = false; ; isolate = true) {
        counts = emptyRunCounts();
        let reader: SheetReader;
        try {
          stopped();
          reader = await source.open(openHint(mapping, request.signal));
        } catch (err) {
          const e = request.signal?.aborted && !(err instanceof CannotRunError) ? new SyncCancelled(String(request.signal.reason)) : err;
          // The sheet could not be read (again, on an isolating pass): the run, if recorded, failed.
          if (runId === null) throw await refuse('sheet', e);
          throw dryRun ? dryRunStopped(why(e), counts) : await abortRun(failures, runId, why(e), counts, performance.now() - started);
        }
        try {
          await client.query('begin');
          if (!(await tryRunLock(client))) throw new SyncBusy();
          // The header is checked before the run is recorded: a refused sheet is not a run.
          const header = resolveHeader(mapping, reader.header);
          if (runId === null) {
            // Holding the lock, any run still marked running is one whose process died: it wrote
            // nothing. The journal knows why, for the runs that could not say so themselves.
            if (!dryRun) {
              if (options.journal) await options.journal.replay(pool).catch(() => 0);
              await closeInterruptedRuns(pool);
            }
            // A run's record is written on its own connection, so that it outlives a run that fails; a dry run's goes with its transaction.
            runId = dryRun ? randomUUID() : (await startRun(pool, { mode, source: source.description, batchSize, encoding: reader.format.encoding?.name ?? null, sourceVersion: request.sourceVersion ?? null })).id;
            for (const w of reader.warnings) warn(w);
          }
          if (dryRun) await startRun(client, { id: runId, mode, source: source.description, batchSize, encoding: reader.format.encoding?.name ?? null, sourceVersion: request.sourceVersion ?? null });
          const rules = rowRules(header, reader.format, maxKey);
          // A stop request cancels the statement in progress (a bulk load can take a while), not just the next batch.
          const backend = (client as unknown as { processID?: number }).processID;
          const cancel = () => {
            if (backend) pool.query('select pg_cancel_backend($1)', [backend]).catch(() => undefined);
          };
          request.signal?.addEventListener('abort', cancel, { once: true });
          let result: Awaited<ReturnType<typeof pass>>;
          try {
            result = await pass({ client, reader, rules, runId, counts, keys, batchSize, isolate, request, warn, started, stopped });
          } finally {
            request.signal?.removeEventListener('abort', cancel);
          }
          // A stop that came between two statements cancelled nothing: it still stops the run before it commits.
          stopped();
          if (dryRun) {
            const preview = await dryRunPreview(client, runId, mapping);
            await client.query('rollback');
            return { ...result, warnings, dryRun: true, preview };
          }
          try {
            await client.query('commit');
          } catch (err) {
            if (!isConnectionLevel(err)) throw err;
            // The answer to the commit was lost, not necessarily the commit: the run's record, written inside it, says which.
            broken = err instanceof Error ? err : true;
            const known = await committed(pool, runId);
            if (known === true) {
              warn('the database connection was lost as the run committed; the run was written (sync_runs says so)');
              return { ...result, warnings, dryRun: false, preview: null };
            }
            throw known === null ? new CommitUnknown(err) : err;
          }
          return { ...result, warnings, dryRun: false, preview: null };
        } catch (caught) {
          // A statement cancelled because the run was asked to stop is the stop, not a refused row.
          const err = request.signal?.aborted && !(caught instanceof SyncCancelled) && errorCode(caught instanceof RowRejected ? caught.cause : caught) === '57014'
            ? new SyncCancelled(String(request.signal.reason ?? 'stopped'))
            : caught;
          await reader.close().catch(() => undefined);
          if (isConnectionLevel(err)) {
            broken = err instanceof Error ? err : true;
          } else {
            await client.query('rollback').catch((e: unknown) => {
              broken = e instanceof Error ? e : true;
            });
          }
          if (err instanceof RowRejected && !isolate && broken === undefined) {
            // Rare: the database refused a row our rules accepted (a constraint, a trigger).
            // Everything was rolled back; go again, this time isolating each batch so that
            // only the refused rows fail.
            warn(`the database refused a row (${errorCode(err.cause) ?? 'error'}); repeating the run with each batch isolated`);
            continue;
          }
          const cause = err instanceof RowRejected ? err.cause : err;
          // Refused before the run started: the header, or the database failing at the start.
          if (runId === null) throw await refuse(refusedAs(cause, 'sheet'), cause);
          throw dryRun ? dryRunStopped(why(cause), counts) : await abortRun(failures, runId, why(cause), counts, performance.now() - started);
        }
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  } finally {
    // The run's copy of the sheet goes with the run, whatever became of it (unless the caller reads it again).
    if (!request.keepSource) await source.release?.().catch(() => undefined);
  }
}

/** One pass over the sheet inside the run's transaction. */
async function pass(a: {
  client: pg.PoolClient;
  reader: SheetReader;
  rules: RowRules;
  runId: string;
  counts: RunCounts;
  keys: string[] | null;
  batchSize: number;
  isolate: boolean;
  request: SyncRequest;
  warn: (w: string) => void;
  started: number;
  /** Throws SyncCancelled once the run's signal fired. */
  stopped: () => void;
}): Promise<Omit<SyncResult, 'warnings' | 'dryRun' | 'preview'>> {
  const { client, reader, rules, runId, counts, keys, batchSize, request, warn, stopped } = a;
  const { header } = rules;
  const { mapping, source, mode } = request;
  const elapsed = () => performance.now() - a.started;
  if (header.unknownHeaders.length > 0) {
    warn(`the sheet has columns the mapping does not know (ignored): ${printableList(header.unknownHeaders)}`);
  }
  if (header.repeatedUnknownHeaders.length > 0) {
    warn(`unmapped headers that appear more than once (ignored too): ${printableList(header.repeatedUnknownHeaders)}`);
  }
  if (header.absentOptional.length > 0) {
    warn(`optional columns absent from the sheet (left untouched): ${printableList(header.absentOptional)}`);
  }

  // The run's memory of buyer numbers starts with the database's content hashes.
  const index = new KeyIndex(keys ? keys.length : await buyerCount(client, mapping));
  await loadContentHashes(client, mapping, header.columns, (key, hash) => index.setStored(key, hash), keys);
  const planner = new BatchPlanner({
    mode,
    rules,
    keyColumn: mapping.key,
    runId,
    source: source.description,
    index,
    openRetries: await openRetryBuyers(client),
    keys,
    counts,
    onBatch: request.onBatch,
    snapshotCount: mode === 'full' ? await snapshotCount(client) : undefined,
  });
  const stage = a.isolate ? null : new InsertStage(client, mapping, header.columns);
  const writer = new BatchWriter({ client, statement: batchStatement(mapping, header.columns), runId, counts, isolate: a.isolate, planner, stage });
  await writer.begin();

  // While the database writes batch k, batch k+1 is read, planned and encoded:
  // the statement goes out at once, and nothing waits for it until the next one is ready.
  let inFlight: Promise<void> = Promise.resolve();
  let rowsRead = 0;
  let batch: SheetRow[] = [];
  let batchText = 0;
  const dispatch = async (rows: SheetRow[]) => {
    stopped();
    const plan = planner.plan(rows);
    const query = writer.prepare(plan);
    if (writer.buffered(plan, query)) {
      request.onProgress?.({ rowsRead, batches: counts.batches, elapsedMs: elapsed() });
      return;
    }
    await inFlight;
    inFlight = writer.write(plan, query);
    inFlight.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
    request.onProgress?.({ rowsRead, batches: counts.batches, elapsedMs: elapsed() });
  };
  try {
    for await (const chunk of reader.rows) {
      stopped();
      for (const r of chunk) {
        rowsRead++;
        batch.push(r);
        batchText += rowText(r.cells);
        if (batch.length === batchSize || batchText >= BATCH_TEXT_BUDGET) {
          const rows = batch;
          batch = [];
          batchText = 0;
          await dispatch(rows);
        }
      }
    }
    if (batch.length > 0) await dispatch(batch);
    stopped();
  } finally {
    // Never leave a write running while the run unwinds.
    await inFlight.catch(() => undefined);
  }
  await inFlight;
  stopped();
  await writer.finish();
  // After a bulk load (a first sync, a sheet that grew by a tenth), fresh statistics for what reads the table next
  // (the missing-buyer diffs, the health views), as after any bulk load; cheap beside the load itself.
  // Only the key's statistics (and the table's size): what those plans need, and cheap beside long text columns.
  if (counts.inserted >= 1000 && counts.inserted * 10 >= counts.totalRows) {
    await client.query(`analyze public.${escapeIdentifier(mapping.table)} (${escapeIdentifier(mapping.key)})`);
  }

  const done = planner.finish();
  await markEarlierDuplicates(client, runId, done.earlierDuplicates.map((d) => ({ ...d, shown: printable(d.key) })));
  await closeRetryEntries(client, runId, done.lateResolved, 'synced');
  await discardRetryEntries(client, runId, done.lateDiscarded);
  await closeRetryEntries(client, runId, done.notRetryable, 'not_retryable');
  await closeRetryEntries(client, runId, done.leftSheet, 'left_sheet');
  if (done.notOnSheet.length > 0) warn(`not on the sheet: ${done.notOnSheet.map((b) => printable(b)).join(', ')}`);
  if (done.lookalikeCollisions > 0) {
    warn(
      `${done.lookalikeCollisions} buyer number(s) are written two ways (equal once Unicode-normalized, e.g. full-width digits): ` +
        'their later rows failed as constraint_violation, see `buyer-sync errors --type constraint_violation`',
    );
  }
  stopped();
  if (mode === 'full') {
    await replaceSheetSnapshot(client, {
      source: source.description,
      keys: planner.sheet,
      count: planner.sheet.count,
      keysHash: done.keysHash,
      keysPrefix: done.keysPrefix,
      runId,
    });
  }
  counts.retryQueueSize = await retryQueueSize(client);
  counts.durationMs = Math.round(elapsed());
  counts.rowsPerSecond = Math.round((counts.totalRows / Math.max(counts.durationMs, 1)) * 100_000) / 100;
  await finishRun(client, runId, counts, null);
  // The alerts this run's outcome raises (error rate, duration) or clears commit with the run,
  // after those its rows raised as they went (a buyer that failed for good).
  const alerts = [...(await alertsRaisedSoFar(client)), ...(await evaluateAlerts(client))];
  const encoding = reader.format.encoding ? { label: reader.format.encoding.label, how: reader.format.encoding.how } : null;
  return { ...counts, runId, mode, source: source.description, encoding, retryQueueSize: counts.retryQueueSize, notOnSheet: done.notOnSheet, alerts };
}
