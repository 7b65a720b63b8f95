/**
 * A sync run's lifecycle around its passes (pass.ts): the checks that can
 * refuse it before the sheet is read, the transaction that holds the sync
 * lock, the run's record, the mass-change guard, the commit (and a commit
 * whose answer was lost), and how a run that stops ends: refused (recorded as
 * a failed run, or as a skipped one when another run was busy), a dry run's
 * one line, or recorded as failed with its reason (failure.ts).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import { assertMappingFits } from '../mapping/check.ts';
import { resolveHeader, type HeaderResolution } from '../mapping/mapping.ts';
import { describeField, SchemaValidator } from '../schema/validator.ts';
import type { SheetReader } from '../sheet/source.ts';
import { errorCode, isConnectionLevel } from './error-types.ts';
import { CommitUnknown, RowRejected, SyncBusy, SyncCancelled } from './errors.ts';
import { abortRun, dryRunStopped, refuseRun, type FailureContext } from './failure.ts';
import { describeMassChange, judgeMassChange, massChangeDetails, MassChangeRefused } from './mass-change.ts';
import { openHint } from './open-hint.ts';
import type { PassResult, PassRun } from './pass.ts';
import type { RunJournal } from './run-journal.ts';
import { raiseMassChangeAlert } from './sql/mass-change.ts';
import { keyMaxLength } from './sql/policy.ts';
import {
  closeInterruptedRuns,
  recordBusyRun,
  runStatus,
  startRun,
  tryRunLock,
  type RunFailure,
  type RunRecordStart,
} from './sql/runs.ts';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MASS_CHANGE,
  type MassChangeLimits,
  type MassChangeVerdict,
  type RunCounts,
  type SyncMode,
  type SyncRequest,
} from './types.ts';

export interface EngineOptions {
  /** Where a run's failure is kept when the database cannot be told (run-journal.ts). */
  journal?: RunJournal | null;
  /** The mass-change guard's limits (SYNC_MAX_CHANGED_PERCENT, SYNC_MAX_CHANGED_MIN); the defaults when absent. */
  massChange?: MassChangeLimits;
  /**
   * How long a run waits for the sync lock when another run (or a
   * verification) holds it, before it gives up as busy. 0 (the command line):
   * not at all. The worker waits, so that a long command-line run at a tick
   * delays the tick's sync instead of dropping it.
   */
  lockWaitMs?: number;
  /** What the process knows of a lost database that a socket error does not say. */
  databaseGone?: () => Promise<string | null>;
}

/** One pass's sheet and counts, as the run sees them when the pass fails. */
export interface PassAttempt {
  reader: SheetReader;
  counts: RunCounts;
  /** The isolating pass, which is never repeated. */
  isolate: boolean;
}

/** The schema check, refusing with the table and column named. */
async function assertSchema(db: pg.Pool | pg.ClientBase): Promise<void> {
  const result = await new SchemaValidator(db).validateBuyersSchema();
  if (!result.valid) {
    throw new CannotRunError(
      `sync refused, nothing written: ${result.nonTextFields.map(describeField).join('; ')}. ` +
        'Run `buyer-sync check-schema --fix` and then `buyer-sync migrate`.',
    );
  }
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

/**
 * Takes the sync lock for the run's transaction, waiting up to `waitMs` for
 * another run to let go of it (polling: an advisory lock wait could not be
 * interrupted by a stop request). Says once what it waits for.
 */
async function waitForRunLock(
  client: pg.ClientBase,
  waitMs: number,
  stopped: () => void,
  warn: (w: string) => void,
): Promise<boolean> {
  const deadline = performance.now() + waitMs;
  for (let said = false, pause = 100; ; pause = Math.min(pause * 2, 1000)) {
    if (await tryRunLock(client)) return true;
    if (performance.now() >= deadline) return false;
    stopped();
    if (!said) {
      warn(
        `waiting up to ${Math.round(waitMs / 1000)} s for the sync lock: another sync run or a verification holds it`,
      );
      said = true;
    }
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(deadline - performance.now(), 0))));
  }
}

/** A busy run, recorded: the same refusal, naming its record and the run that held the lock. */
async function recordBusy(
  pool: pg.Pool,
  err: SyncBusy,
  run: { mode: SyncMode; source: string; batchSize: number; durationMs: number },
): Promise<SyncBusy> {
  try {
    const { id, because } = await recordBusyRun(pool, run);
    const busy = new SyncBusy(
      `another sync run is in progress (${because.replace(/^busy: /, '')}); this run read and wrote nothing (recorded as skipped run ${id}); try again when it has finished`,
    );
    busy.skippedRunId = id;
    return busy;
  } catch {
    return err; // the database could not be told: the refusal itself still says what happened
  }
}

/** How a refusal is recorded: our own refusals as the stage that refused, the database's as database, anything else as error. */
function refusedAs(err: unknown, stage: RunFailure): RunFailure {
  return err instanceof CannotRunError
    ? stage
    : isConnectionLevel(err) || errorCode(err) !== undefined
      ? 'database'
      : 'error';
}

/** The run's batch size, refused (not recorded) when it is not one. */
function requestedBatchSize(request: SyncRequest): number {
  const batchSize = request.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new CannotRunError(`batch size must be a positive integer, got ${batchSize}`);
  return batchSize;
}

/** The buyer numbers of an 'only' or 'retry' run (trimmed, each once); null for a full run. */
function requestedKeys({ mode, keys }: SyncRequest): string[] | null {
  if (mode === 'full' && keys) throw new CannotRunError('a full sync takes no buyer numbers');
  if (mode === 'full') return null;
  const listed = [...new Set((keys ?? []).map((b) => b.trim()).filter((b) => b !== ''))];
  if (listed.length === 0) throw new CannotRunError(`a ${mode} sync needs at least one buyer number`);
  return listed;
}

/**
 * The run's connection, which its passes share. A session the server ends
 * (pg_terminate_backend, a shutdown) says why asynchronously (57P01, 57P02,
 * …); the query that fails next only knows that the connection is gone: the
 * server's reason is kept for the record.
 */
export class RunConnection {
  readonly client: pg.PoolClient;
  /** Set once the connection cannot go back to the pool as it is (given to release). */
  broken: Error | boolean | undefined = undefined;
  private serverSaid: unknown = null;
  private readonly onError = (e: unknown) => (this.serverSaid ??= e);

  private constructor(client: pg.PoolClient) {
    this.client = client;
    client.on('error', this.onError);
  }

  static async open(pool: pg.Pool): Promise<RunConnection> {
    return new RunConnection(await pool.connect());
  }

  /** Why a query failed: the server's reason when the error only says the connection is gone. */
  why(e: unknown): unknown {
    return errorCode(e) === undefined && errorCode(this.serverSaid) !== undefined && isConnectionLevel(e)
      ? this.serverSaid
      : e;
  }

  /** Marks the connection broken (the commit's answer was lost, a failure ended it). */
  lose(err: unknown): void {
    this.broken = err instanceof Error ? err : true;
  }

  /** Rolls back after a failed pass, unless the failure took the connection with it. */
  async rollback(err: unknown): Promise<void> {
    if (isConnectionLevel(err)) this.lose(err);
    else await this.client.query('rollback').catch((e: unknown) => this.lose(e));
  }

  release(): void {
    this.client.off('error', this.onError);
    this.client.release(this.broken);
  }
}

/** One sync run's state and lifecycle; its passes see it as their PassRun. */
export class SyncRun implements PassRun {
  readonly request: SyncRequest;
  readonly keys: string[] | null;
  readonly batchSize: number;
  readonly started = performance.now();
  readonly dryRun: boolean;
  /** The operator's warnings, each once, in the order they came. */
  readonly warnings: string[] = [];
  /** The run's record, once written (a dry run's: its id); null while the run can still be refused. */
  private runId: string | null = null;
  private readonly pool: pg.Pool;
  private readonly options: EngineOptions;
  private readonly failures: FailureContext;
  /** A refused run's record, chosen ahead so that a refusal the database could not be told is recorded later alike. */
  private readonly refusalId = randomUUID();

  /** Refuses (CannotRunError, not recorded) a request that cannot make a run. */
  constructor(pool: pg.Pool, request: SyncRequest, options: EngineOptions) {
    this.batchSize = requestedBatchSize(request);
    this.keys = requestedKeys(request);
    this.pool = pool;
    this.request = request;
    this.options = options;
    this.dryRun = request.dryRun === true;
    this.failures = {
      pool,
      journal: options.journal ?? null,
      ...(options.databaseGone ? { databaseGone: options.databaseGone } : {}),
    };
  }

  readonly warn = (w: string): void => {
    if (this.warnings.includes(w)) return;
    this.warnings.push(w);
    this.request.warn?.(w);
  };

  readonly stopped = (): void => {
    if (this.request.signal?.aborted) throw SyncCancelled.by(this.request.signal);
  };

  private elapsed(): number {
    return performance.now() - this.started;
  }

  /**
   * Everything that can refuse the run without reading the sheet: the schema
   * check, the mapping against the table. Returns the key's length limit.
   */
  async preflight(): Promise<number> {
    try {
      await assertSchema(this.pool);
      await assertMappingFits(this.pool, this.request.mapping);
      return await keyMaxLength(this.pool);
    } catch (err) {
      throw await this.refuse(refusedAs(err, 'blocked'), err);
    }
  }

  /** Opens the sheet for a pass; one that cannot be read (again, on an isolating pass) ends the run. */
  async openSheet(conn: RunConnection, counts: RunCounts): Promise<SheetReader> {
    const { source, mapping, signal } = this.request;
    try {
      this.stopped();
      return await source.open(openHint(mapping, signal));
    } catch (err) {
      const e = signal?.aborted && !(err instanceof CannotRunError) ? SyncCancelled.by(signal) : err;
      throw await this.end(conn, e, counts, 'sheet');
    }
  }

  /**
   * Opens the pass's transaction holding the sync lock, checks the header
   * (a refused sheet is not a run, so before the run is recorded) and, on
   * the first pass, records the run.
   */
  async begin(conn: RunConnection, reader: SheetReader): Promise<{ runId: string; header: HeaderResolution }> {
    const { client } = conn;
    await client.query('begin');
    if (!(await waitForRunLock(client, this.options.lockWaitMs ?? 0, this.stopped, this.warn))) throw new SyncBusy();
    const header = resolveHeader(this.request.mapping, reader.header);
    if (this.runId === null) this.runId = await this.record(reader);
    if (this.dryRun) await startRun(client, { ...this.recordStart(reader), id: this.runId });
    return { runId: this.runId, header };
  }

  private recordStart(reader: SheetReader): RunRecordStart {
    return {
      mode: this.request.mode,
      source: this.request.source.description,
      batchSize: this.batchSize,
      encoding: reader.format.encoding?.name ?? null,
      sourceVersion: this.request.sourceVersion ?? null,
    };
  }

  /**
   * The run's record, written on its own connection so that it outlives a run
   * that fails; a dry run's goes with its transaction (begin), on every pass.
   */
  private async record(reader: SheetReader): Promise<string> {
    // Holding the lock, any run still marked running is one whose process died: it wrote
    // nothing. The journal knows why, for the runs that could not say so themselves.
    if (!this.dryRun) {
      if (this.options.journal) await this.options.journal.replay(this.pool).catch(() => 0);
      await closeInterruptedRuns(this.pool);
    }
    const id = this.dryRun ? randomUUID() : (await startRun(this.pool, this.recordStart(reader))).id;
    for (const w of reader.warnings) this.warn(w);
    return id;
  }

  /** Runs a pass so that a stop request cancels the statement in progress (a bulk load can take a while), not just the next batch. */
  async cancellable(client: pg.PoolClient, pass: () => Promise<PassResult>): Promise<PassResult> {
    const backend = (client as unknown as { processID?: number }).processID;
    const cancel = () => {
      if (backend) this.pool.query('select pg_cancel_backend($1)', [backend]).catch(() => undefined);
    };
    this.request.signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await pass();
    } finally {
      this.request.signal?.removeEventListener('abort', cancel);
    }
  }

  /** The mass-change guard's verdict on the pass (always for a dry run, which reports it). */
  async judgeMassChange(client: pg.PoolClient, runId: string, result: PassResult): Promise<MassChangeVerdict | null> {
    return judgeMassChange(client, {
      runId,
      mapping: this.request.mapping,
      updated: result.updated,
      inserted: result.inserted,
      limits: this.options.massChange ?? DEFAULT_MASS_CHANGE,
      allow: this.request.allowMassChange === true,
      always: this.dryRun,
    });
  }

  /** Refuses a run beyond the guard's limits, or says who let it through. */
  letThrough(massChange: MassChangeVerdict | null): void {
    if (!massChange?.beyond) return;
    if (massChange.allowedBy === null) throw new MassChangeRefused(massChange);
    const by = massChange.allowedBy === 'flag' ? '--allow-mass-change' : `approval ${massChange.allowedBy.approval}`;
    this.warn(`the mass-change guard let this run through (${by}): ${describeMassChange(massChange)}`);
  }

  /**
   * Commits the run. When the answer to the commit is lost, the commit may
   * still have happened: the run's record, written inside it, says which.
   */
  async commit(conn: RunConnection, runId: string): Promise<void> {
    try {
      await conn.client.query('commit');
    } catch (err) {
      if (!isConnectionLevel(err)) throw err;
      conn.lose(err);
      const known = await committed(this.pool, runId);
      if (known !== true) throw known === null ? new CommitUnknown(err) : err;
      this.warn('the database connection was lost as the run committed; the run was written (sync_runs says so)');
    }
  }

  /**
   * After a pass failed, its transaction is rolled back (or gone with its
   * connection). Returns when the pass is to be repeated isolating each
   * batch; otherwise throws what the run ends with.
   */
  async afterFailedPass(conn: RunConnection, pass: PassAttempt, caught: unknown): Promise<void> {
    const err = this.asStop(caught);
    await pass.reader.close().catch(() => undefined);
    await conn.rollback(err);
    if (err instanceof RowRejected && !pass.isolate && conn.broken === undefined) {
      // Rare: the database refused a row our rules accepted (a constraint, a trigger).
      // Everything was rolled back; go again, this time isolating each batch so that
      // only the refused rows fail.
      this.warn(
        `the database refused a row (${errorCode(err.cause) ?? 'error'}); repeating the run with each batch isolated`,
      );
      return;
    }
    const cause = err instanceof RowRejected ? err.cause : err;
    // Refused before the run started: the header, or the database failing at the start.
    throw await this.end(conn, cause, pass.counts, refusedAs(cause, 'sheet'));
  }

  /** A statement cancelled because the run was asked to stop is the stop, not a refused row. */
  private asStop(caught: unknown): unknown {
    const { signal } = this.request;
    return signal?.aborted &&
      !(caught instanceof SyncCancelled) &&
      errorCode(caught instanceof RowRejected ? caught.cause : caught) === '57014'
      ? SyncCancelled.by(signal)
      : caught;
  }

  /**
   * What a run that stopped throws: a refusal (recorded as `refusal`) while it
   * has no record, a dry run's one line (it records nothing), else the run
   * recorded as failed with its reason.
   */
  private async end(conn: RunConnection, cause: unknown, counts: RunCounts, refusal: RunFailure): Promise<unknown> {
    if (this.runId === null) return this.refuse(refusal, cause);
    if (this.dryRun) return dryRunStopped(conn.why(cause), counts);
    const aborted = await abortRun(this.failures, this.runId, conn.why(cause), counts, this.elapsed());
    if (cause instanceof MassChangeRefused) {
      // Recorded as failed (mass_change); the alert is raised on its own, since the run's transaction is gone.
      cause.alerts = await raiseMassChangeAlert(
        this.pool,
        aborted.message,
        massChangeDetails(cause.verdict, this.runId),
      ).catch(() => []);
    }
    return aborted;
  }

  /** A run refused before it read the sheet is recorded as a failed run, a busy one as skipped (a dry run records nothing). */
  private async refuse(failure: RunFailure, err: unknown): Promise<unknown> {
    if (this.dryRun || err instanceof SyncCancelled) return err;
    const run = {
      mode: this.request.mode,
      source: this.request.source.description,
      batchSize: this.batchSize,
      durationMs: this.elapsed(),
    };
    if (err instanceof SyncBusy) return recordBusy(this.pool, err, run);
    return refuseRun(this.failures, { id: this.refusalId, ...run }, failure, err);
  }
}
