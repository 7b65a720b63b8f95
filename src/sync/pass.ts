/**
 * One pass over the sheet inside the run's transaction: read, plan, write.
 * Rows are planned in batches (planner.ts) and each batch that has something
 * to do is one statement (writer.ts); the next batch is read, planned and
 * encoded while the database writes this one. Once every row is written, the
 * pass settles what only the whole sheet tells (duplicates found late, the
 * retry queue, the sheet snapshot) and finishes the run's record, all in the
 * run's transaction: whether any of it stays is the run's to say (run.ts).
 */
import type pg from 'pg';
import { escapeIdentifier } from 'pg';
import type { HeaderResolution, Mapping } from '../mapping/mapping.ts';
import { printable, printableList } from '../printable.ts';
import type { SheetReader, SheetRow } from '../sheet/source.ts';
import { KeyIndex } from './key-index.ts';
import { foldKey, StoredLookalikes } from './lookalikes.ts';
import { BatchPlanner } from './planner.ts';
import type { RowRules } from './rows.ts';
import { alertsRaisedSoFar, evaluateAlerts } from './sql/alerts.ts';
import { batchStatement } from './sql/batch.ts';
import { buyerCount, loadContentHashes, loadFoldCandidates } from './sql/buyers.ts';
import { markEarlierDuplicates } from './sql/error-log.ts';
import { closeRetryEntries, discardRetryEntries, openRetryBuyers, retryQueueSize } from './sql/retry-queue.ts';
import { finishRun } from './sql/runs.ts';
import { replaceSheetSnapshot, snapshotCount } from './sql/snapshot.ts';
import { InsertStage } from './sql/stage.ts';
import { BATCH_TEXT_BUDGET, type RunCounts, type SyncRequest, type SyncResult } from './types.ts';
import { BatchWriter } from './writer.ts';

/** What the run hands one pass. */
export interface PassInput {
  /** The run's connection, inside its transaction. */
  client: pg.PoolClient;
  /** The sheet, opened for this pass. */
  reader: SheetReader;
  rules: RowRules;
  runId: string;
  /** Filled in as the pass goes: a pass that stops is reported with what it had counted. */
  counts: RunCounts;
  /** Each batch under a savepoint, so that only the rows the database refuses fail (writer.ts). */
  isolate: boolean;
}

/** What a pass asks of the run it belongs to (run.ts). */
export interface PassRun {
  readonly request: SyncRequest;
  /** The buyer numbers of an 'only' or 'retry' run; null for a full run. */
  readonly keys: string[] | null;
  readonly batchSize: number;
  /** When the run started (performance.now()): progress and the recorded duration count from it. */
  readonly started: number;
  readonly warn: (line: string) => void;
  /** Throws SyncCancelled once the run's signal fired. */
  readonly stopped: () => void;
}

/** A pass's outcome; the run adds its warnings, the dry run's preview and the mass-change verdict. */
export type PassResult = Omit<SyncResult, 'warnings' | 'dryRun' | 'preview' | 'massChange'>;

/** What the planner learnt of the whole sheet (BatchPlanner.finish). */
type Learnt = ReturnType<BatchPlanner['finish']>;

/** One pass over the sheet inside the run's transaction (see the module's comment). */
export async function runPass(input: PassInput, run: PassRun): Promise<PassResult> {
  const { client, reader, runId, counts } = input;
  const { mapping, mode } = run.request;
  warnAboutHeader(input.rules.header, run.warn);
  const planner = await openPlanner(input, run);
  const writer = new BatchWriter({
    client,
    statement: batchStatement(mapping, input.rules.header.columns),
    runId,
    counts,
    isolate: input.isolate,
    planner,
    stage: input.isolate ? null : new InsertStage(client, mapping, input.rules.header.columns),
  });
  await writer.begin();
  await readAndWrite(reader, planner, writer, input.counts, run);
  await writer.finish();
  await analyzeAfterBulkLoad(client, mapping, counts);
  const learnt = planner.finish();
  await settleRetryQueue(input, learnt);
  warnAboutKeys(learnt, run.warn);
  run.stopped();
  if (mode === 'full') {
    await replaceSheetSnapshot(client, {
      source: run.request.source.description,
      keys: planner.sheet,
      count: planner.sheet.count,
      keysHash: learnt.keysHash,
      keysPrefix: learnt.keysPrefix,
      runId,
    });
  }
  return finishPass(input, run, learnt);
}

/** The header's columns the mapping leaves aside are worth a word: a renamed column reads as unknown plus absent. */
function warnAboutHeader(header: HeaderResolution, warn: (line: string) => void): void {
  if (header.unknownHeaders.length > 0) {
    warn(`the sheet has columns the mapping does not know (ignored): ${printableList(header.unknownHeaders)}`);
  }
  if (header.repeatedUnknownHeaders.length > 0) {
    warn(`unmapped headers that appear more than once (ignored too): ${printableList(header.repeatedUnknownHeaders)}`);
  }
  if (header.absentOptional.length > 0) {
    warn(`optional columns absent from the sheet (left untouched): ${printableList(header.absentOptional)}`);
  }
}

/** The planner, with what the database holds that the plan is judged against: hashes, look-alikes, the retry queue. */
async function openPlanner({ client, rules, runId, counts }: PassInput, run: PassRun): Promise<BatchPlanner> {
  const { keys } = run;
  const { mapping, source, mode } = run.request;
  // The run's memory of buyer numbers starts with the database's content hashes.
  const index = new KeyIndex(keys ? keys.length : await buyerCount(client, mapping));
  await loadContentHashes(client, mapping, rules.header.columns, (key, hash) => index.setStored(key, hash), keys);
  // Buyer numbers that only look like a stored one (full-width, invisible characters) fail: the stored non-ASCII numbers, by fold.
  const stored = new StoredLookalikes((k) => index.held(k));
  await loadFoldCandidates(client, mapping, keys && keys.map(foldKey).filter((f) => f !== ''), (k) => stored.add(k));
  return new BatchPlanner({
    mode,
    rules,
    keyColumn: mapping.key,
    runId,
    source: source.description,
    index,
    stored,
    openRetries: await openRetryBuyers(client),
    keys,
    counts,
    onBatch: run.request.onBatch,
    snapshotCount: mode === 'full' ? await snapshotCount(client) : undefined,
  });
}

/** Characters a row holds, to keep a batch within BATCH_TEXT_BUDGET. */
function rowText(cells: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < cells.length; i++) n += cells[i]!.length;
  return n;
}

/**
 * Reads the sheet in batches, planning and writing each. While the database
 * writes batch k, batch k+1 is read, planned and encoded: the statement goes
 * out at once, and nothing waits for it until the next one is ready.
 */
async function readAndWrite(
  reader: SheetReader,
  planner: BatchPlanner,
  writer: BatchWriter,
  counts: RunCounts,
  run: PassRun,
): Promise<void> {
  const { batchSize, request, stopped } = run;
  let inFlight: Promise<void> = Promise.resolve();
  let rowsRead = 0;
  let batch: SheetRow[] = [];
  let batchText = 0;
  const dispatch = async (rows: SheetRow[]) => {
    stopped();
    const plan = planner.plan(rows);
    const query = writer.prepare(plan);
    if (!writer.buffered(plan, query)) {
      await inFlight;
      inFlight = writer.write(plan, query);
      inFlight.catch(() => undefined); // awaited later; never an unhandled rejection meanwhile
    }
    request.onProgress?.({ rowsRead, batches: counts.batches, elapsedMs: performance.now() - run.started });
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
}

/**
 * After a bulk load (a first sync, a sheet that grew by a tenth), fresh
 * statistics for what reads the table next (the missing-buyer diffs, the
 * health views), as after any bulk load. Only the key's statistics (and the
 * table's size): what those plans need, and cheap beside long text columns.
 */
async function analyzeAfterBulkLoad(client: pg.PoolClient, mapping: Mapping, counts: RunCounts): Promise<void> {
  if (counts.inserted >= 1000 && counts.inserted * 10 >= counts.totalRows) {
    await client.query(`analyze public.${escapeIdentifier(mapping.table)} (${escapeIdentifier(mapping.key)})`);
  }
}

/** What only the whole sheet tells the error log and the retry queue: duplicates found late, entries to close. */
async function settleRetryQueue({ client, runId }: PassInput, learnt: Learnt): Promise<void> {
  await markEarlierDuplicates(
    client,
    runId,
    learnt.earlierDuplicates.map((d) => ({ ...d, shown: printable(d.key) })),
  );
  await closeRetryEntries(client, runId, learnt.lateResolved, 'synced');
  await discardRetryEntries(client, runId, learnt.lateDiscarded);
  await closeRetryEntries(client, runId, learnt.notRetryable, 'not_retryable');
  await closeRetryEntries(client, runId, learnt.leftSheet, 'left_sheet');
}

/** Buyer numbers the operator should hear about: listed and not on the sheet, or written two ways. */
function warnAboutKeys(learnt: Learnt, warn: (line: string) => void): void {
  if (learnt.notOnSheet.length > 0) warn(`not on the sheet: ${learnt.notOnSheet.map((b) => printable(b)).join(', ')}`);
  if (learnt.lookalikeCollisions > 0) {
    warn(
      `${learnt.lookalikeCollisions} buyer number(s) are written two ways on the sheet (equal once folded: full-width characters, invisible characters, surrounding spaces): ` +
        'their later rows failed as constraint_violation, see `buyer-sync errors --type constraint_violation`',
    );
  }
  if (learnt.storedLookalikeCollisions > 0) {
    warn(
      `${learnt.storedLookalikeCollisions} buyer number(s) on the sheet are a buyer's number in the database written another way (full-width characters, invisible characters): ` +
        'their rows failed as constraint_violation and were not synced, see `buyer-sync errors --type constraint_violation`',
    );
  }
}

/**
 * The run's record, finished inside its transaction (so it says succeeded
 * exactly when the run commits), and the alerts its outcome raises or clears.
 */
async function finishPass(
  { client, reader, runId, counts }: PassInput,
  run: PassRun,
  learnt: Learnt,
): Promise<PassResult> {
  counts.retryQueueSize = await retryQueueSize(client);
  counts.durationMs = Math.round(performance.now() - run.started);
  counts.rowsPerSecond = Math.round((counts.totalRows / Math.max(counts.durationMs, 1)) * 100_000) / 100;
  await finishRun(client, runId, counts, null);
  // The alerts this run's outcome raises (error rate, duration) or clears commit with the run,
  // after those its rows raised as they went (a buyer that failed for good).
  const alerts = [...(await alertsRaisedSoFar(client)), ...(await evaluateAlerts(client))];
  const encoding = reader.format.encoding
    ? { label: reader.format.encoding.label, how: reader.format.encoding.how }
    : null;
  return {
    ...counts,
    runId,
    mode: run.request.mode,
    source: run.request.source.description,
    encoding,
    retryQueueSize: counts.retryQueueSize,
    notOnSheet: learnt.notOnSheet,
    alerts,
  };
}
