/**
 * EnhancedBuyerSyncService (design §2): one sync run from a sheet source into
 * buyers, accounting for every row.
 *
 * - The schema check runs first and refuses the run (exit 3, nothing written)
 *   while any synced column is not text: the incident must not repeat.
 * - The header is resolved before anything is written.
 * - The run is one transaction, holding an advisory lock so runs never overlap:
 *   a sheet that cannot be read to the end, or a connection lost mid-run,
 *   leaves the database exactly as it was (the run record says why).
 * - Rows are processed in batches of `batchSize` sheet rows. A batch whose rows
 *   are all unchanged (same content hash as the database row) costs no round
 *   trip; any other batch is one statement.
 * - A row the database refuses although our rules accepted it (a constraint or
 *   trigger added by hand) does not block its batch: the run is rolled back and
 *   repeated with every batch under a savepoint, where a refused batch is
 *   retried row by row (the one immediate in-run retry) and only the refused
 *   rows fail. Savepoints are kept out of the normal path on purpose: a long
 *   transaction with hundreds of subtransactions slows every other session
 *   (subxid overflow).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import { normaliseHeader, resolveHeader, type HeaderResolution, type Mapping } from '../mapping/mapping.ts';
import { describeField, SchemaValidator } from '../schema/validator.ts';
import type { SheetReader, SheetRow, SheetSource } from '../sheet/source.ts';
import {
  categorizeError,
  emptyErrorCounts,
  errorCode,
  isConnectionLevel,
  isRetryable,
  isStatementLevel,
  type ErrorType,
} from './error-types.ts';
import { KeyIndex } from './key-index.ts';
import { parseRow, type RowProblem, type ValidRow } from './rows.ts';
import {
  batchStatement,
  buyerCount,
  closeInterruptedRuns,
  closeRetryEntries,
  finishRun,
  insertErrors,
  loadContentHashes,
  openRetryBuyers,
  replaceSheetSnapshot,
  retryQueueSize,
  startRun,
  tableColumns,
  type BatchStatement,
  type BatchWrite,
  type ErrorEntry,
  type RunCounts,
} from './sql.ts';

export const DEFAULT_BATCH_SIZE = 100;
/** Any constant: the lock that keeps two sync runs from overlapping. */
const SYNC_LOCK = 7_340_001;

export interface SyncProgress {
  rowsRead: number;
  batches: number;
  elapsedMs: number;
}

export interface SyncOptions {
  source: SheetSource;
  mapping: Mapping;
  batchSize?: number;
  /** Sync only these buyer numbers (`sync --only`). */
  only?: string[] | null;
  onProgress?: (p: SyncProgress) => void;
  /** Called once per batch with the number of sheet rows in it (Property 21). */
  onBatch?: (size: number) => void;
  /** Warnings for the operator (unknown headers, --only numbers not on the sheet). */
  warn?: (line: string) => void;
}

/** A finished run: its counts (as recorded in sync_runs) and what the operator should know. */
export interface SyncResult extends Omit<RunCounts, 'retryQueueSize'> {
  runId: string;
  source: string;
  retryQueueSize: number;
  warnings: string[];
  /** With --only: listed buyer numbers not found on the sheet. */
  notOnSheet: string[];
}

/** The `sync --json` shape of contract.md. */
export function syncResultJson(r: SyncResult) {
  return {
    run_id: r.runId,
    source: r.source,
    total_rows: r.totalRows,
    blank_rows: r.blankRows,
    inserted: r.inserted,
    updated: r.updated,
    unchanged: r.unchanged,
    failed: r.failed,
    errors_by_type: r.errorsByType,
    retry_queue_size: r.retryQueueSize,
    duration_ms: r.durationMs,
    rows_per_second: r.rowsPerSecond,
  };
}

/** Thrown for a run that started and then could not finish; the run record holds the details. */
export class SyncAbortedError extends CannotRunError {
  readonly runId: string;
  readonly errorType: ErrorType;
  constructor(message: string, runId: string, errorType: ErrorType, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SyncAbortedError';
    this.runId = runId;
    this.errorType = errorType;
  }
}

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
      return 'the database rejected the row (22001 value too long)';
    case 'constraint_violation':
      return `the database rejected the row (${code}${e.constraint ? `, constraint ${e.constraint}` : ''}${e.column ? `, column ${e.column}` : ''})`;
    case 'data_type':
      return `the database could not store a value (${code}${e.column ? `, column ${e.column}` : ''}${e.dataType ? `, type ${e.dataType}` : ''})`;
    default:
      return `the database failed on the row (${code})`;
  }
}

function isKeyHeader(mapping: Mapping, header: string): boolean {
  const key = mapping.columns.find((c) => c.column === mapping.key)!;
  return normaliseHeader(header) === normaliseHeader(key.header);
}

/** The mapping's type for each header cell, so a source can render values faithfully. */
function columnTypes(mapping: Mapping, header: string[]): ('text' | 'date' | 'bigint' | null)[] {
  const byHeader = new Map(mapping.columns.map((c) => [normaliseHeader(c.header), c.type]));
  return header.map((h) => byHeader.get(normaliseHeader(h)) ?? null);
}

/** Internal: the database refused a row in a run that does not isolate batches. */
class RowRejected extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super('the database refused a row');
    this.cause = cause;
  }
}

function emptyCounts(): RunCounts {
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

/** A stack trace with its first line (which repeats the message, possibly quoting values) replaced. */
function safeStack(err: unknown, message: string): string | null {
  const stack = err instanceof Error ? err.stack : undefined;
  if (!stack) return null;
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return [`${(err as Error).name}: ${message}`, ...frames].join('\n');
}

function duplicateEntry(rowNumber: number, key: string, syncedRow: number, keyColumn: string): ErrorEntry {
  return {
    rowNumber,
    buyerNumber: key,
    errorType: 'constraint_violation',
    column: keyColumn,
    message: `row ${rowNumber}: buyer number ${key} is also on row ${syncedRow}, which is the one synced; remove or renumber this duplicate`,
    retryable: false,
    stack: null,
  };
}

function problemEntry(p: RowProblem): ErrorEntry {
  return {
    rowNumber: p.rowNumber,
    buyerNumber: p.buyerNumber,
    errorType: p.errorType,
    column: p.column,
    message: p.message,
    retryable: isRetryable(p.errorType),
    stack: null,
  };
}

export class EnhancedBuyerSyncService {
  private readonly pool: pg.Pool;
  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** The schema check, refusing with the table and column named. */
  async assertSchema(): Promise<void> {
    const result = await new SchemaValidator(this.pool).validateBuyersSchema();
    if (!result.valid) {
      throw new CannotRunError(
        `sync refused, nothing written: ${result.nonTextFields.map(describeField).join('; ')}. ` +
          'Run `buyer-sync check-schema --fix` and then `buyer-sync migrate`.',
      );
    }
  }

  async syncAllWithErrorHandling(options: SyncOptions): Promise<SyncResult> {
    return this.run({ ...options, only: null });
  }

  /** Syncs only the given buyer numbers from the sheet (`sync --only`, the missing-buyer recovery). */
  async syncMissingBuyers(buyerNumbers: string[], options: Omit<SyncOptions, 'only'>): Promise<SyncResult> {
    return this.run({ ...options, only: buyerNumbers });
  }

  private async run(options: SyncOptions): Promise<SyncResult> {
    const started = performance.now();
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new CannotRunError(`batch size must be a positive integer, got ${batchSize}`);
    const { mapping, source } = options;
    const warnings: string[] = [];
    const warn = (w: string) => {
      if (warnings.includes(w)) return;
      warnings.push(w);
      options.warn?.(w);
    };
    const only = options.only ? [...new Set(options.only.map((b) => b.trim()).filter((b) => b !== ''))] : null;

    await this.assertSchema();
    const existingColumns = await tableColumns(this.pool, mapping.table);
    if (existingColumns === null) throw new CannotRunError(`table public.${mapping.table} does not exist; run \`buyer-sync migrate\``);
    const unknownColumns = mapping.columns.filter((c) => !existingColumns.has(c.column));
    if (unknownColumns.length > 0) {
      throw new CannotRunError(
        `the column mapping names ${unknownColumns.map((c) => `${mapping.table}.${c.column} (header "${c.header}")`).join(', ')}, ` +
          `which the table does not have; add a migration or fix the mapping`,
      );
    }

    const client = await this.pool.connect();
    let broken: Error | boolean | undefined = undefined;
    let runId: string | null = null;
    let counts = emptyCounts();
    try {
      for (let isolate = false; ; isolate = true) {
        counts = emptyCounts();
        let reader: SheetReader;
        try {
          reader = await source.open({ columnTypes: (h) => columnTypes(mapping, h), isKey: (h) => isKeyHeader(mapping, h) });
        } catch (err) {
          // The sheet could not be read (again, on an isolating re-run): the run, if recorded, failed.
          if (runId === null) throw err;
          throw await this.abort(runId, err, counts, performance.now() - started);
        }
        try {
          await client.query('begin');
          const { rows: lock } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [SYNC_LOCK]);
          if (!lock[0]?.ok) throw new CannotRunError('another sync run is in progress; try again when it has finished');
          // The header is checked before the run is recorded: a refused sheet is not a run.
          const header = resolveHeader(mapping, reader.header);
          if (runId === null) {
            // Holding the lock, any run still marked running is one whose process died: it wrote nothing.
            await closeInterruptedRuns(this.pool);
            runId = (await startRun(this.pool, { mode: only ? 'only' : 'full', source: source.description, batchSize })).id;
          }
          const result = await this.attempt({ client, reader, header, runId, counts, only, batchSize, isolate, options, warn, started });
          await client.query('commit');
          return { ...result, warnings };
        } catch (err) {
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
            options.warn?.(`the database refused a row (${errorCode(err.cause) ?? 'error'}); repeating the run with each batch isolated`);
            continue;
          }
          if (runId === null) throw err instanceof RowRejected ? err.cause : err;
          throw await this.abort(runId, err instanceof RowRejected ? err.cause : err, counts, performance.now() - started);
        }
      }
    } finally {
      client.release(broken);
    }
  }

  /** One pass over the sheet inside the run's transaction. */
  private async attempt(a: {
    client: pg.PoolClient;
    reader: SheetReader;
    header: HeaderResolution;
    runId: string;
    counts: RunCounts;
    only: string[] | null;
    batchSize: number;
    isolate: boolean;
    options: SyncOptions;
    warn: (w: string) => void;
    started: number;
  }): Promise<Omit<SyncResult, 'warnings'>> {
    const { client, reader, header, runId, counts, only, batchSize, options, warn } = a;
    const { mapping, source } = options;
    const onlySet = only ? new Set(only) : null;
    const elapsed = () => performance.now() - a.started;
    if (header.unknownHeaders.length > 0) {
      warn(`the sheet has columns the mapping does not know (ignored): ${header.unknownHeaders.map((h) => `"${h}"`).join(', ')}`);
    }
    if (header.absentOptional.length > 0) {
      warn(`optional columns absent from the sheet (left untouched): ${header.absentOptional.map((h) => `"${h}"`).join(', ')}`);
    }
    const statement = batchStatement(mapping, header.columns);
    if (a.isolate) await client.query('savepoint batch');

    /*
     * The run's memory of buyer numbers: the database's content hashes, which
     * sheet row claimed which number (later valid rows with it are duplicates),
     * and, for the missing-buyer snapshot, every number in order of first
     * appearance with that row.
     */
    const index = new KeyIndex(only ? only.length : await buyerCount(client, mapping));
    await loadContentHashes(client, mapping, header.columns, (key, hash) => index.setStored(key, hash), only);
    const openRetries = await openRetryBuyers(client);
    const sheetKeys: string[] = [];
    const sheetRows: number[] = [];
    const keysHash = createHash('md5');
    const queued = new Set<string>();
    const lateResolved: string[] = [];

    /** Applies the row rules to one batch and decides what the database must do. Synchronous. */
    const prepare = (rows: SheetRow[]) => {
      counts.batches++;
      options.onBatch?.(rows.length);
      const write: BatchWrite = { inserts: [], updates: [], errors: [], retries: [], resolved: [] };
      const validRows: ValidRow[] = [];
      let keysText = '';
      const fail = (entry: ErrorEntry) => {
        counts.failed++;
        counts.errorsByType[entry.errorType]++;
        write.errors.push(entry);
        if (entry.retryable && entry.buyerNumber !== null && !queued.has(entry.buyerNumber)) {
          queued.add(entry.buyerNumber);
          write.retries.push({
            buyerNumber: entry.buyerNumber,
            rowNumber: entry.rowNumber ?? 0,
            info: {
              error_type: entry.errorType,
              error_message: entry.message,
              column_name: entry.column,
              run_id: runId,
              source: source.description,
            },
          });
        }
      };
      for (const { rowNumber, cells } of rows) {
        const outcome = parseRow(rowNumber, cells, header);
        if (onlySet) {
          const k = outcome.kind === 'valid' ? outcome.row.key : outcome.kind === 'invalid' ? outcome.problem.buyerNumber : null;
          if (k === null || !onlySet.has(k)) continue;
        }
        counts.totalRows++;
        if (outcome.kind === 'blank') {
          counts.blankRows++;
          continue;
        }
        if (outcome.kind === 'invalid') {
          const key = outcome.problem.buyerNumber;
          const seen = key === null ? null : index.see(key);
          if (seen?.firstSeen) {
            sheetKeys.push(key!);
            sheetRows.push(rowNumber);
            keysText += `${key}\u0000${rowNumber}\n`;
          }
          if (seen?.claimedBy) {
            // Another row already synced this buyer: this one is a duplicate first of all.
            fail(duplicateEntry(rowNumber, key!, seen.claimedBy, mapping.key));
          } else {
            fail(problemEntry(outcome.problem));
          }
          continue;
        }
        const row = outcome.row;
        const claim = index.claim(row.key, row.hash, rowNumber);
        if ('duplicateOf' in claim) {
          fail(duplicateEntry(rowNumber, row.key, claim.duplicateOf, mapping.key));
          continue;
        }
        if (claim.firstSeen) {
          sheetKeys.push(row.key);
          sheetRows.push(rowNumber);
          keysText += `${row.key}\u0000${rowNumber}\n`;
        }
        if (queued.has(row.key)) {
          // An earlier row of this run failed with this number and was queued; this row synced the buyer.
          lateResolved.push(row.key);
        } else if (openRetries.has(row.key)) {
          write.resolved.push(row.key);
        }
        if (claim.unchanged) {
          counts.unchanged++;
        } else {
          validRows.push(row);
          (claim.stored ? write.updates : write.inserts).push({ key: row.key, values: row.values });
        }
      }
      keysHash.update(keysText);
      const empty = write.inserts.length + write.updates.length + write.errors.length + write.resolved.length === 0;
      // Built now, while the previous batch is still being written.
      const query = empty || a.isolate ? null : statement(runId, write);
      return { write, validRows, fail, query };
    };

    const submit = async (plan: ReturnType<typeof prepare>): Promise<void> => {
      const { write } = plan;
      if (write.inserts.length + write.updates.length + write.errors.length + write.resolved.length === 0) return;
      if (a.isolate || plan.query === null) {
        await this.writeIsolated(client, statement, runId, write, plan.validRows, plan.fail, counts);
        return;
      }
      try {
        const { rows } = await client.query<{ inserted: number; updated: number }>(plan.query);
        counts.inserted += rows[0]?.inserted ?? 0;
        counts.updated += rows[0]?.updated ?? 0;
      } catch (err) {
        if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
        throw new RowRejected(err);
      }
    };

    // While the database writes batch k, batch k+1 is read, parsed and hashed:
    // the statement goes out at once, and nothing waits for it until the next one is ready.
    let inFlight: Promise<void> = Promise.resolve();
    let rowsRead = 0;
    let batch: SheetRow[] = [];
    const dispatch = async (rows: SheetRow[]) => {
      const plan = prepare(rows);
      await inFlight;
      inFlight = submit(plan);
      inFlight.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
      options.onProgress?.({ rowsRead, batches: counts.batches, elapsedMs: elapsed() });
    };
    try {
      for await (const chunk of reader.rows) {
        for (const r of chunk) {
          rowsRead++;
          batch.push(r);
          if (batch.length === batchSize) {
            const rows = batch;
            batch = [];
            await dispatch(rows);
          }
        }
      }
      if (batch.length > 0) await dispatch(batch);
    } finally {
      // Never leave a write running while the run unwinds.
      await inFlight.catch(() => undefined);
    }
    await inFlight;

    if (lateResolved.length > 0) await closeRetryEntries(client, lateResolved);
    const notOnSheet = only ? only.filter((b) => !index.onSheet(b)) : [];
    if (notOnSheet.length > 0) warn(`not on the sheet: ${notOnSheet.join(', ')}`);
    if (!only) {
      await replaceSheetSnapshot(client, {
        source: source.description,
        keys: sheetKeys.map((k, i) => [k, sheetRows[i]!] as [string, number]),
        count: sheetKeys.length,
        keysHash: keysHash.digest('hex'),
        runId,
      });
    }
    counts.retryQueueSize = await retryQueueSize(client);
    counts.durationMs = Math.round(elapsed());
    counts.rowsPerSecond = Math.round((counts.totalRows / Math.max(counts.durationMs, 1)) * 100_000) / 100;
    await finishRun(client, runId, counts, null);
    return { ...counts, runId, source: source.description, retryQueueSize: counts.retryQueueSize, notOnSheet };
  }

  /**
   * A batch in an isolating run: its statement under a savepoint; if the
   * database refuses it, each changed row alone (the one immediate in-run
   * retry), so that only the refused rows fail.
   */
  private async writeIsolated(
    client: pg.PoolClient,
    statement: BatchStatement,
    runId: string,
    write: BatchWrite,
    validRows: ValidRow[],
    fail: (e: ErrorEntry) => void,
    counts: RunCounts,
  ): Promise<void> {
    // One savepoint at a time: release the previous one (its work is kept) and set a new one.
    await client.query('release savepoint batch; savepoint batch');
    try {
      const { rows } = await client.query<{ inserted: number; updated: number }>(statement(runId, write));
      counts.inserted += rows[0]?.inserted ?? 0;
      counts.updated += rows[0]?.updated ?? 0;
      return;
    } catch (err) {
      if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
      await client.query('rollback to savepoint batch');
    }
    const byKey = new Map(validRows.map((r) => [r.key, r]));
    const single = [
      ...write.inserts.map((r) => ({ r, one: { inserts: [r], updates: [] } })),
      ...write.updates.map((r) => ({ r, one: { inserts: [], updates: [r] } })),
    ];
    for (const { r, one } of single) {
      await client.query('release savepoint batch; savepoint batch');
      try {
        const { rows } = await client.query<{ inserted: number; updated: number }>(
          statement(runId, { ...one, errors: [], retries: [], resolved: [] }),
        );
        counts.inserted += rows[0]?.inserted ?? 0;
        counts.updated += rows[0]?.updated ?? 0;
      } catch (err) {
        if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
        await client.query('rollback to savepoint batch');
        const row = byKey.get(r.key)!;
        const type = categorizeError(err);
        const message = `row ${row.rowNumber}: ${safeDatabaseError(err)}`;
        fail({
          rowNumber: row.rowNumber,
          buyerNumber: row.key,
          errorType: type,
          column: (err as { column?: string }).column ?? null,
          message,
          retryable: isRetryable(type),
          stack: type === 'unknown' ? safeStack(err, message) : null,
        });
        write.resolved = write.resolved.filter((k) => k !== row.key);
      }
    }
    // The batch's failures (rule failures and refused rows) and retry bookkeeping, in one statement.
    const rest: BatchWrite = { inserts: [], updates: [], errors: write.errors, retries: write.retries, resolved: write.resolved };
    if (rest.errors.length + rest.resolved.length > 0) await client.query(statement(runId, rest));
  }

  /** Records a run that could not finish (nothing it did was committed) and builds the operator's message. */
  private async abort(runId: string, err: unknown, counts: RunCounts, durationMs: number): Promise<Error> {
    const errorType = err instanceof CannotRunError ? 'unknown' : categorizeError(err);
    const cause =
      err instanceof CannotRunError
        ? err.message
        : errorType === 'transient'
          ? `the database connection was lost (${errorCode(err) ?? 'connection closed'})`
          : `${errorCode(err) ? `database error ${errorCode(err)}` : (err as Error)?.message ?? String(err)}`;
    const message = `sync run ${runId} stopped after ${counts.totalRows} rows and wrote nothing: ${cause}`;
    try {
      await finishRun(this.pool, runId, { ...counts, durationMs, rowsPerSecond: 0 }, { errorType, message });
      await insertErrors(this.pool, runId, [
        { rowNumber: null, buyerNumber: null, errorType, column: null, message, retryable: isRetryable(errorType), stack: errorType === 'unknown' ? safeStack(err, message) : null },
      ]);
    } catch {
      // The database may be unreachable: the message still reaches the operator.
    }
    if (err instanceof CannotRunError && !(err instanceof SyncAbortedError)) {
      return new SyncAbortedError(message, runId, errorType, { cause: err });
    }
    return new SyncAbortedError(`${message}; run the sync again`, runId, errorType, { cause: err });
  }
}
