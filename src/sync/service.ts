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
import { assertMappingFits } from '../mapping/check.ts';
import { normaliseHeader, resolveHeader, type Mapping } from '../mapping/mapping.ts';
import { printable, printableList } from '../printable.ts';
import { describeField, SchemaValidator } from '../schema/validator.ts';
import type { SheetReader, SheetRow, SheetSource } from '../sheet/source.ts';
import { categorizeError, emptyErrorCounts, errorCode, isConnectionLevel, isRetryable, isStatementLevel } from './error-types.ts';
import { abortRun, safeDatabaseError, safeStack, SyncAbortedError, SyncCancelled, type FailureContext } from './failure.ts';
import { KeyIndex } from './key-index.ts';
import { LookalikeGuard, normalForm, type Lookalike } from './lookalikes.ts';
import { parseRow, rowRules, type RowProblem, type RowRules, type ValidRow } from './rows.ts';
import type { RunJournal } from './run-journal.ts';
import {
  batchStatement,
  buyerCount,
  closeInterruptedRuns,
  closeRetryEntries,
  finishRun,
  keyMaxLength,
  loadContentHashes,
  openRetryBuyers,
  replaceSheetSnapshot,
  retryQueueSize,
  startRun,
  type BatchStatement,
  type BatchWrite,
  type ErrorEntry,
  type RunCounts,
} from './sql.ts';

export { safeDatabaseError, SyncAbortedError, SyncCancelled };

export const DEFAULT_BATCH_SIZE = 100;
/**
 * A batch also ends once its rows hold this many characters, so that a sheet
 * of huge cells never builds a statement beyond what V8 strings and the
 * PostgreSQL protocol (1 GB a message) can carry. Real sheets never get near
 * it (100 rows of 14 cells at Google's limit of 50,000 characters a cell are
 * 70 Mi, and real cells are a thousandth of that).
 */
export const BATCH_TEXT_BUDGET = 32 * 2 ** 20;
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
  /** Stops the run (rolled back, recorded as stopped): Ctrl-C, SIGTERM, a worker shutting down. */
  signal?: AbortSignal;
}

export interface ServiceOptions {
  /** Where a run's failure is kept when the database cannot be told (see run-journal.ts). */
  journal?: RunJournal | null;
  /** What the process knows of a lost database that a socket error does not say. */
  databaseGone?: () => Promise<string | null>;
}

/** A finished run: its counts (as recorded in sync_runs) and what the operator should know. */
export interface SyncResult extends Omit<RunCounts, 'retryQueueSize'> {
  runId: string;
  source: string;
  /** The CSV export's encoding and how it was chosen; null for the Sheets API. */
  encoding: { label: string; how: string } | null;
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

function duplicateEntry(rowNumber: number, key: string, syncedRow: number, keyColumn: string): ErrorEntry {
  return {
    rowNumber,
    buyerNumber: key,
    errorType: 'constraint_violation',
    column: keyColumn,
    message: `row ${rowNumber}: buyer number ${printable(key)} is also on row ${syncedRow}, which is the one synced; remove or renumber this duplicate`,
    retryable: false,
    stack: null,
  };
}

function lookalikeEntry(rowNumber: number, key: string, earlier: Lookalike, keyColumn: string): ErrorEntry {
  return {
    rowNumber,
    buyerNumber: key,
    errorType: 'constraint_violation',
    column: keyColumn,
    message:
      `row ${rowNumber}: buyer number ${printable(key)} is the same as ${printable(earlier.spelling)} on row ${earlier.row} once Unicode-normalized ` +
      `(NFKC: full-width characters, composed and decomposed accents, ideographic spaces), yet written differently; ` +
      `write one buyer's number the same way everywhere, or give this buyer another number`,
    retryable: false,
    stack: null,
  };
}

/** Characters a row holds, to keep a batch within BATCH_TEXT_BUDGET. */
function rowText(cells: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < cells.length; i++) n += cells[i]!.length;
  return n;
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
  private readonly failures: FailureContext;
  private readonly journal: RunJournal | null;
  constructor(pool: pg.Pool, options: ServiceOptions = {}) {
    this.pool = pool;
    this.journal = options.journal ?? null;
    this.failures = { pool, journal: this.journal, ...(options.databaseGone ? { databaseGone: options.databaseGone } : {}) };
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

    // Everything that can refuse the run without reading the sheet comes first.
    await this.assertSchema();
    await assertMappingFits(this.pool, mapping);
    const maxKey = await keyMaxLength(this.pool);
    const stopped = () => {
      if (options.signal?.aborted) throw new SyncCancelled(String(options.signal.reason ?? 'stopped'));
    };

    const client = await this.pool.connect();
    let broken: Error | boolean | undefined = undefined;
    let runId: string | null = null;
    let counts = emptyCounts();
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
        counts = emptyCounts();
        let reader: SheetReader;
        try {
          stopped();
          reader = await source.open({
            columnTypes: (h) => columnTypes(mapping, h),
            isKey: (h) => isKeyHeader(mapping, h),
            ...(options.signal ? { signal: options.signal } : {}),
          });
        } catch (err) {
          const e = options.signal?.aborted && !(err instanceof CannotRunError) ? new SyncCancelled(String(options.signal.reason)) : err;
          // The sheet could not be read (again, on an isolating re-run): the run, if recorded, failed.
          if (runId === null) throw e;
          throw await abortRun(this.failures, runId, why(e), counts, performance.now() - started);
        }
        try {
          await client.query('begin');
          const { rows: lock } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [SYNC_LOCK]);
          if (!lock[0]?.ok) throw new CannotRunError('another sync run is in progress; try again when it has finished');
          // The header is checked before the run is recorded: a refused sheet is not a run.
          const header = resolveHeader(mapping, reader.header);
          if (runId === null) {
            // Holding the lock, any run still marked running is one whose process died: it wrote
            // nothing. The journal knows why, for the runs that could not say so themselves.
            if (this.journal) await this.journal.replay(this.pool).catch(() => 0);
            await closeInterruptedRuns(this.pool);
            runId = (
              await startRun(this.pool, { mode: only ? 'only' : 'full', source: source.description, batchSize, encoding: reader.format.encoding?.name ?? null })
            ).id;
            for (const w of reader.warnings) warn(w);
          }
          const rules = rowRules(header, reader.format, maxKey);
          const result = await this.attempt({ client, reader, rules, runId, counts, only, batchSize, isolate, options, warn, started, stopped });
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
          throw await abortRun(this.failures, runId, why(err instanceof RowRejected ? err.cause : err), counts, performance.now() - started);
        }
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** One pass over the sheet inside the run's transaction. */
  private async attempt(a: {
    client: pg.PoolClient;
    reader: SheetReader;
    rules: RowRules;
    runId: string;
    counts: RunCounts;
    only: string[] | null;
    batchSize: number;
    isolate: boolean;
    options: SyncOptions;
    warn: (w: string) => void;
    started: number;
    /** Throws SyncCancelled once the run's signal fired. */
    stopped: () => void;
  }): Promise<Omit<SyncResult, 'warnings'>> {
    const { client, reader, rules, runId, counts, only, batchSize, options, warn, stopped } = a;
    const { header } = rules;
    const { mapping, source } = options;
    const onlySet = only ? new Set(only) : null;
    // --only also looks at rows whose buyer number is a lookalike of a listed one, so it judges them as a full run would.
    const onlyForms = only ? new Set(only.map(normalForm)) : null;
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
    const statement = batchStatement(mapping, header.columns);
    if (a.isolate) await client.query('savepoint batch');

    /*
     * The run's memory of buyer numbers: the database's content hashes, which
     * sheet row first showed and which claimed each number (later valid rows
     * with it are duplicates), which spellings are lookalikes of earlier ones,
     * and, for the missing-buyer snapshot, every number in order of first
     * appearance with that row.
     */
    const index = new KeyIndex(only ? only.length : await buyerCount(client, mapping));
    await loadContentHashes(client, mapping, header.columns, (key, hash) => index.setStored(key, hash), only);
    const lookalikes = new LookalikeGuard((k) => index.firstRow(k));
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
      for (const { rowNumber, cells, oversized } of rows) {
        const outcome = parseRow(rowNumber, cells, rules, oversized);
        const key = outcome.kind === 'valid' ? outcome.row.key : outcome.kind === 'invalid' ? outcome.problem.buyerNumber : null;
        if (onlySet) {
          if (key === null) continue;
          if (!onlySet.has(key)) {
            // A lookalike of a listed number: remembered for the verdict on the listed ones, not synced.
            if (onlyForms!.has(normalForm(key))) lookalikes.check(key, rowNumber, index.visit(key, rowNumber).firstSeen);
            continue;
          }
        }
        counts.totalRows++;
        if (outcome.kind === 'blank') {
          counts.blankRows++;
          continue;
        }
        const seen = key === null ? null : index.visit(key, rowNumber);
        if (seen?.firstSeen) {
          sheetKeys.push(key!);
          sheetRows.push(rowNumber);
          keysText += `${key}\u0000${rowNumber}\n`;
        }
        const earlier = key === null ? null : lookalikes.check(key, rowNumber, seen!.firstSeen);
        if (earlier !== null) {
          fail(lookalikeEntry(rowNumber, key!, earlier, mapping.key));
          continue;
        }
        if (outcome.kind === 'invalid') {
          if (seen?.claimedBy) {
            // Another row already synced this buyer: this one is a duplicate first of all.
            fail(duplicateEntry(rowNumber, key!, seen.claimedBy, mapping.key));
          } else {
            fail(problemEntry(outcome.problem));
          }
          continue;
        }
        const row = outcome.row;
        if (seen!.claimedBy !== null) {
          fail(duplicateEntry(rowNumber, row.key, seen!.claimedBy, mapping.key));
          continue;
        }
        const claim = index.claim(seen!.slot, row.hash, rowNumber);
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
    let batchText = 0;
    const dispatch = async (rows: SheetRow[]) => {
      stopped();
      const plan = prepare(rows);
      await inFlight;
      inFlight = submit(plan);
      inFlight.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
      options.onProgress?.({ rowsRead, batches: counts.batches, elapsedMs: elapsed() });
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

    if (lateResolved.length > 0) await closeRetryEntries(client, lateResolved);
    const notOnSheet = only ? only.filter((b) => !index.onSheet(b)) : [];
    if (notOnSheet.length > 0) warn(`not on the sheet: ${notOnSheet.map((b) => printable(b)).join(', ')}`);
    if (lookalikes.collisions > 0) {
      warn(
        `${lookalikes.collisions} buyer number(s) are written two ways (equal once Unicode-normalized, e.g. full-width digits): ` +
          'their later rows failed as constraint_violation, see `buyer-sync errors --type constraint_violation`',
      );
    }
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
    const encoding = reader.format.encoding ? { label: reader.format.encoding.label, how: reader.format.encoding.how } : null;
    return { ...counts, runId, source: source.description, encoding, retryQueueSize: counts.retryQueueSize, notOnSheet };
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
}
