/**
 * Batch planning: what the database must do for a batch of sheet rows. The
 * row rules, the content hashes, which row claims which buyer number
 * (duplicates, lookalikes), which failures are queued for retry and which
 * open retry entries a row resolves. No database here: a plan is data, and
 * the planner is tested on its own.
 *
 * One planner serves one pass over the sheet. It remembers, in compact form,
 * every buyer number the sheet showed (for the missing-buyer snapshot and the
 * entries whose row left the sheet).
 */
import { printable } from '../printable.ts';
import type { SheetRow } from '../sheet/source.ts';
import { isRetryable } from './error-types.ts';
import type { KeyIndex } from './key-index.ts';
import { LookalikeGuard, normalForm, type Lookalike } from './lookalikes.ts';
import { parseRow, type RowProblem, type RowRules, type ValidRow } from './rows.ts';
import { SheetKeyList } from './sheet-keys.ts';
import type { BatchWrite, ErrorEntry, KeysPrefix, RunCounts, SyncMode } from './types.ts';

export interface PlannerContext {
  mode: SyncMode;
  rules: RowRules;
  /** The key column's name, for the error entries. */
  keyColumn: string;
  runId: string;
  /** The run's source description, recorded with each retry entry (a retry re-reads it). */
  source: string;
  /** The database's buyers (their content hashes), loaded before the first batch. */
  index: KeyIndex;
  /** Buyer numbers with an open retry-queue entry when the run started, and the sheet their failing run read. */
  openRetries: Map<string, string | null>;
  /** The buyer numbers of an 'only' or 'retry' run; null for a full run. */
  keys: string[] | null;
  /** The run's counts, updated as batches are planned. */
  counts: RunCounts;
  /**
   * How many buyer numbers the stored sheet snapshot holds: the planner
   * remembers the hash of as many first entries of this read, so that a sheet
   * that only grew appends to the snapshot instead of rewriting it.
   */
  snapshotCount?: number | undefined;
  onBatch?: ((size: number) => void) | undefined;
}

export interface BatchPlan {
  write: BatchWrite;
  /** The rows to insert or update, for isolating a refused batch row by row. */
  validRows: ValidRow[];
}

function problemEntry(p: RowProblem): ErrorEntry {
  return {
    rowNumber: p.rowNumber,
    buyerNumber: p.buyerNumber,
    errorType: p.errorType,
    column: p.column,
    message: p.message,
    retryable: isRetryable(p.errorType) && p.buyerNumber !== null,
    stack: null,
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

export class BatchPlanner {
  private readonly c: PlannerContext;
  private readonly listed: Set<string> | null;
  /** --only / retry also look at rows whose buyer number is a lookalike of a listed one, to judge them as a full run would. */
  private readonly listedForms: Set<string> | null;
  private readonly lookalikes: LookalikeGuard;
  /** Buyer numbers queued (or advanced) by this pass. */
  private readonly queued = new Set<string>();
  /** Buyer numbers that failed this pass in a way retrying cannot fix. */
  private readonly finalFailures = new Set<string>();
  /**
   * Buyer numbers a valid row claimed and the database then refused
   * (isolating pass). A buyer number is synced this pass when a row claimed
   * it in the run's index and it is not here: no set of every synced number.
   */
  private readonly refused = new Set<string>();
  /** Queued earlier in this pass, then synced by a later row. */
  private readonly lateResolved: string[] = [];
  /** Rows that failed a rule before any row claimed their buyer number: if a later row syncs it, they are duplicates. */
  private readonly failedUnclaimed = new Map<string, { row: number; type: ErrorEntry['errorType'] }[]>();
  /** The row that synced each buyer number with early failures. */
  private readonly claimedAt = new Map<string, number>();
  /** Every buyer number on the sheet, at its first row, in order (the snapshot). */
  readonly sheet: SheetKeyList;

  constructor(context: PlannerContext) {
    this.c = context;
    this.sheet = new SheetKeyList(context.snapshotCount);
    this.listed = context.keys ? new Set(context.keys) : null;
    this.listedForms = context.keys ? new Set(context.keys.map(normalForm)) : null;
    this.lookalikes = new LookalikeGuard((k) => context.index.firstRow(k));
  }

  /** Counts a failed row and, when it is retryable and has a buyer number, queues the buyer (once a pass). */
  fail(write: BatchWrite, entry: ErrorEntry): void {
    const { counts, runId, source } = this.c;
    counts.failed++;
    counts.errorsByType[entry.errorType]++;
    const key = entry.buyerNumber;
    const queue = entry.retryable && key !== null;
    if (queue && !this.queued.has(key)) {
      this.queued.add(key);
      write.retries.push({
        buyerNumber: key,
        rowNumber: entry.rowNumber ?? 0,
        source,
        info: { error_type: entry.errorType, error_message: entry.message, column_name: entry.column, run_id: runId, source },
      });
    }
    if (!queue && key !== null) this.finalFailures.add(key);
    write.errors.push({ ...entry, retryable: queue });
  }

  /** Applies the row rules to one batch and decides what the database must do. */
  plan(rows: readonly SheetRow[]): BatchPlan {
    const { counts, index, openRetries, keyColumn, rules } = this.c;
    counts.batches++;
    this.c.onBatch?.(rows.length);
    const write: BatchWrite = { inserts: [], updates: [], errors: [], retries: [], resolved: [] };
    const validRows: ValidRow[] = [];
    for (const { rowNumber, cells, oversized } of rows) {
      const outcome = parseRow(rowNumber, cells, rules, oversized);
      const key = outcome.kind === 'valid' ? outcome.row.key : outcome.kind === 'invalid' ? outcome.problem.buyerNumber : null;
      if (this.listed) {
        if (key === null) continue;
        if (!this.listed.has(key)) {
          // A lookalike of a listed number: remembered for the verdict on the listed ones, not synced.
          if (this.listedForms!.has(normalForm(key))) this.lookalikes.check(key, rowNumber, index.visit(key, rowNumber).firstSeen);
          continue;
        }
      }
      counts.totalRows++;
      if (outcome.kind === 'blank') {
        counts.blankRows++;
        continue;
      }
      const seen = key === null ? null : index.visit(key, rowNumber);
      if (seen?.firstSeen) this.sheet.add(key!, rowNumber);
      const earlier = key === null ? null : this.lookalikes.check(key, rowNumber, seen!.firstSeen);
      if (earlier !== null) {
        this.fail(write, lookalikeEntry(rowNumber, key!, earlier, keyColumn));
        continue;
      }
      if (outcome.kind === 'invalid') {
        // A row repeating a buyer number another row already synced is a duplicate first of all.
        if (seen?.claimedBy) {
          this.fail(write, duplicateEntry(rowNumber, key!, seen.claimedBy, keyColumn));
        } else {
          this.fail(write, problemEntry(outcome.problem));
          if (key !== null) this.failedUnclaimed.set(key, [...(this.failedUnclaimed.get(key) ?? []), { row: rowNumber, type: outcome.problem.errorType }]);
        }
        continue;
      }
      const row = outcome.row;
      if (seen!.claimedBy !== null) {
        this.fail(write, duplicateEntry(rowNumber, row.key, seen!.claimedBy, keyColumn));
        continue;
      }
      const claim = index.claim(seen!.slot, row, rowNumber);
      if (this.failedUnclaimed.has(row.key)) this.claimedAt.set(row.key, rowNumber);
      if (this.queued.has(row.key)) {
        // An earlier row of this pass failed with this number and was queued; this row synced the buyer.
        this.lateResolved.push(row.key);
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
    return { write, validRows };
  }

  /** A row the database refused after all (isolating pass): it is no longer synced. */
  unsync(key: string): void {
    this.refused.add(key);
  }

  /** Whether a valid row of this pass synced the buyer number. */
  private synced(key: string): boolean {
    return this.c.index.claimedRow(key) !== null && !this.refused.has(key);
  }

  /** What the pass learnt, once every row is planned (and written). */
  finish(): {
    /** Queued (or advanced) and then synced by a later row of the pass, with an entry from before the run: it closes as synced. */
    lateResolved: string[];
    /** Queued and then synced by a later row of the pass, the entry new: there never was anything to retry, it goes. */
    lateDiscarded: string[];
    /** Open entries whose buyer failed this pass only in ways retrying cannot fix. */
    notRetryable: string[];
    /** Open entries whose buyer is not on the sheet (a full pass), or listed and not on it. */
    leftSheet: string[];
    /** Listed buyer numbers not on the sheet. */
    notOnSheet: string[];
    /**
     * Rows that failed a rule before a later row synced their buyer number:
     * "every other occurrence" of a synced buyer number is a duplicate
     * (contract.md), so their entries become constraint_violation.
     */
    earlierDuplicates: { key: string; rows: number[]; syncedRow: number }[];
    lookalikeCollisions: number;
    keysHash: string;
    /** The hash of the first snapshotCount entries (null when the read has fewer). */
    keysPrefix: KeysPrefix | null;
  } {
    const { index, openRetries, mode } = this.c;
    const notRetryable = [...this.finalFailures].filter((k) => openRetries.has(k) && !this.synced(k) && !this.queued.has(k));
    // A full pass speaks for the entries of its own sheet only (another sheet's buyers are not expected here).
    const ours = (k: string) => (mode === 'full' ? (openRetries.get(k) ?? this.c.source) === this.c.source : this.listed!.has(k));
    const leftSheet = [...openRetries.keys()].filter((k) => ours(k) && !index.onSheet(k));
    const notOnSheet = this.c.keys ? this.c.keys.filter((b) => !index.onSheet(b)) : [];
    const earlierDuplicates: { key: string; rows: number[]; syncedRow: number }[] = [];
    for (const [key, failures] of this.failedUnclaimed) {
      const syncedRow = this.claimedAt.get(key);
      if (syncedRow === undefined || !this.synced(key)) continue;
      for (const f of failures) {
        this.c.counts.errorsByType[f.type]--;
        this.c.counts.errorsByType.constraint_violation++;
      }
      earlierDuplicates.push({ key, rows: failures.map((f) => f.row), syncedRow });
    }
    return {
      earlierDuplicates,
      lateResolved: this.lateResolved.filter((k) => this.synced(k) && openRetries.has(k)),
      lateDiscarded: this.lateResolved.filter((k) => this.synced(k) && !openRetries.has(k)),
      notRetryable,
      leftSheet,
      notOnSheet,
      lookalikeCollisions: this.lookalikes.collisions,
      ...this.sheet.digest(),
    };
  }
}
