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
import { contentHash, hashPart } from './content-hash.ts';
import { isRetryable } from './error-types.ts';
import type { KeyIndex } from './key-index.ts';
import { foldKey, LookalikeGuard, type Lookalike, type StoredLookalikes } from './lookalikes.ts';
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
  /**
   * The database's buyer numbers that are not plain ASCII, by fold (loaded at
   * the start of the pass): a row whose buyer number only looks like a
   * buyer's fails. Absent: no database to compare with (a verification).
   */
  stored?: StoredLookalikes | undefined;
  /**
   * Buyer numbers with an open retry-queue entry when the run started, and
   * the sheet their failing run read; `held` (sql/retry-queue.ts
   * OpenRetries): buyers whose exhausted entry holds them, with the hash of
   * the row that failed (null: unknown, from before row hashes).
   */
  openRetries: Map<string, string | null> & { readonly held?: ReadonlyMap<string, string | null> };
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

/** A row refused for good for its buyer number (a duplicate, a look-alike): never retried. */
function keyViolation(rowNumber: number, key: string, keyColumn: string, message: string): ErrorEntry {
  return {
    rowNumber,
    buyerNumber: key,
    errorType: 'constraint_violation',
    column: keyColumn,
    message,
    retryable: false,
    stack: null,
  };
}

function duplicateEntry(rowNumber: number, key: string, syncedRow: number, keyColumn: string): ErrorEntry {
  return keyViolation(
    rowNumber,
    key,
    keyColumn,
    `row ${rowNumber}: buyer number ${printable(key)} is also on row ${syncedRow}, which is the one synced; remove or renumber this duplicate`,
  );
}

function lookalikeEntry(rowNumber: number, key: string, earlier: Lookalike, keyColumn: string): ErrorEntry {
  return keyViolation(
    rowNumber,
    key,
    keyColumn,
    `row ${rowNumber}: buyer number ${printable(key)} is the same as ${printable(earlier.spelling)} on row ${earlier.row} once Unicode-normalized, ` +
      `yet written differently (NFKC for full-width characters and accents; invisible characters such as zero-width spaces, ` +
      `soft hyphens and bidi marks dropped; surrounding spaces trimmed); ` +
      `write one buyer's number the same way everywhere, or give this buyer another number`,
  );
}

function storedLookalikeEntry(rowNumber: number, key: string, existing: string, keyColumn: string): ErrorEntry {
  return keyViolation(
    rowNumber,
    key,
    keyColumn,
    `row ${rowNumber}: buyer number ${printable(key)} is not in the database, but buyer ${printable(existing)} is: the same number written another way ` +
      `(equal once folded: Unicode NFKC for full-width characters and accents, invisible characters such as zero-width spaces, ` +
      `soft hyphens and bidi marks dropped, surrounding spaces trimmed); the row is not synced. ` +
      `Write it exactly as ${printable(existing)} if it is that buyer, or give this buyer another number`,
  );
}

/**
 * The hash of a failing row as the sheet showed it: its cells (trailing empty
 * ones dropped: a source may or may not carry them) and the lengths of cells
 * too long to keep. Computed only for rows that fail retryably; another hash
 * than the entry's starts a fresh retry schedule (migration 064).
 */
export function failingRowHash(row: Pick<SheetRow, 'cells' | 'oversized'>): string {
  let end = row.cells.length;
  while (end > 0 && row.cells[end - 1] === '') end--;
  const parts = row.cells.slice(0, end).map((c) => hashPart('text', c, null));
  for (const o of row.oversized ?? []) parts.push(`o${o.index}:${o.length}`);
  return contentHash(parts);
}

/** How many of the latest planned batches the planner keeps, to hash a row the database refuses while later batches are planned. */
const RECENT_BATCHES = 3;
/**
 * ...and at most this many characters of them besides the batch being planned:
 * a sheet of 5-MB notes must not keep three batches' worth alive. A refused
 * row beyond them gets a stand-in hash (its number and buyer number).
 */
const RECENT_TEXT_BUDGET = 8 * 2 ** 20;

/** What KeyIndex.visit says of a row's buyer number. */
type Visit = ReturnType<KeyIndex['visit']>;

function textOf(rows: readonly SheetRow[]): number {
  let n = 0;
  for (const r of rows) for (const c of r.cells) n += c.length;
  return n;
}

export class BatchPlanner {
  private readonly c: PlannerContext;
  private readonly listed: Set<string> | null;
  /** --only / retry also look at rows whose buyer number is a lookalike of a listed one, to judge them as a full run would. */
  private readonly listedForms: Set<string> | null;
  private readonly lookalikes: LookalikeGuard;
  /** Buyer numbers queued (or advanced) by this pass. */
  private readonly queued = new Set<string>();
  /** Buyer numbers whose exhausted entry holds them: their row failed again as it was (not queued). */
  private readonly holding = new Set<string>();
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
  /** The latest planned batches (a row the database refused is in one of them). */
  private readonly recent: (readonly SheetRow[])[] = [];
  /** Characters of each batch in `recent`. */
  private readonly recentText: number[] = [];

  constructor(context: PlannerContext) {
    this.c = context;
    this.sheet = new SheetKeyList(context.snapshotCount);
    this.listed = context.keys ? new Set(context.keys) : null;
    this.listedForms = context.keys ? new Set(context.keys.map(foldKey)) : null;
    // A row whose number only looks like a stored buyer's failed: it claims no spelling on the sheet.
    this.lookalikes = new LookalikeGuard((k) => (context.stored?.collidedBefore(k) ? null : context.index.firstRow(k)));
  }

  /**
   * Counts a failed row and, when it is retryable and has a buyer number,
   * queues the buyer (once a pass) with the failing row's hash. A buyer held
   * by its exhausted entry while the same row fails is handed on too (an
   * entry from before row hashes records it) but not queued: the database
   * opens no entry, and the error log says not retryable.
   */
  fail(write: BatchWrite, entry: ErrorEntry): void {
    const { counts, runId, source, openRetries } = this.c;
    counts.failed++;
    counts.errorsByType[entry.errorType]++;
    const key = entry.buyerNumber;
    let queue = entry.retryable && key !== null;
    if (queue && !this.queued.has(key!)) {
      this.queued.add(key!);
      const rowHash = this.rowHash(entry.rowNumber, key!);
      const held = openRetries.held?.get(key!);
      if (held !== undefined && (held === null || held === rowHash)) {
        this.holding.add(key!);
      }
      write.retries.push({
        buyerNumber: key!,
        rowNumber: entry.rowNumber ?? 0,
        source,
        rowHash,
        info: {
          error_type: entry.errorType,
          error_message: entry.message,
          column_name: entry.column,
          run_id: runId,
          source,
        },
      });
    }
    if (queue && this.holding.has(key!)) queue = false;
    else if (!queue && key !== null) this.finalFailures.add(key);
    write.errors.push({ ...entry, retryable: queue });
  }

  /** The hash of the failing row with this number (among the latest batches); a stand-in from the buyer number if it is not there. */
  private rowHash(rowNumber: number | null, key: string): string {
    if (rowNumber !== null) {
      for (let b = this.recent.length - 1; b >= 0; b--) {
        const rows = this.recent[b]!;
        // A batch's rows come in sheet order: a binary search.
        let lo = 0;
        let hi = rows.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const n = rows[mid]!.rowNumber;
          if (n === rowNumber) return failingRowHash(rows[mid]!);
          if (n < rowNumber) lo = mid + 1;
          else hi = mid - 1;
        }
      }
    }
    return contentHash(['r', hashPart('text', String(rowNumber), null), hashPart('text', key, null)]);
  }

  /** Applies the row rules to one batch and decides what the database must do. */
  plan(rows: readonly SheetRow[]): BatchPlan {
    this.c.counts.batches++;
    this.c.onBatch?.(rows.length);
    const write: BatchWrite = { inserts: [], updates: [], errors: [], retries: [], resolved: [] };
    const validRows: ValidRow[] = [];
    this.keepRecent(rows);
    for (const row of rows) this.planRow(write, validRows, row);
    return { write, validRows };
  }

  /** Keeps the batch among the latest, within their budget: a row the database refuses later is hashed from them. */
  private keepRecent(rows: readonly SheetRow[]): void {
    this.recent.push(rows);
    this.recentText.push(textOf(rows));
    let kept = 0;
    for (let b = 0; b < this.recentText.length - 1; b++) kept += this.recentText[b]!;
    while (this.recent.length > 1 && (this.recent.length > RECENT_BATCHES || kept > RECENT_TEXT_BUDGET)) {
      this.recent.shift();
      kept -= this.recentText.shift()!;
    }
  }

  /** One row's part of the batch: counted, failed, inserted, updated, or nothing (unchanged, or not listed). */
  private planRow(write: BatchWrite, validRows: ValidRow[], { rowNumber, cells, oversized }: SheetRow): void {
    const { counts, index } = this.c;
    const outcome = parseRow(rowNumber, cells, this.c.rules, oversized);
    const key =
      outcome.kind === 'valid' ? outcome.row.key : outcome.kind === 'invalid' ? outcome.problem.buyerNumber : null;
    if (this.listed !== null && this.unlisted(key, rowNumber)) return;
    counts.totalRows++;
    if (outcome.kind === 'blank') {
      counts.blankRows++;
      return;
    }
    const seen = key === null ? null : index.visit(key, rowNumber);
    if (seen?.firstSeen) this.sheet.add(key!, rowNumber);
    if (seen !== null && this.lookalikeKey(write, key!, rowNumber, seen.firstSeen)) return;
    if (outcome.kind === 'invalid') this.failInvalid(write, outcome.problem, seen?.claimedBy ?? null);
    else this.claimRow(write, validRows, outcome.row, seen!);
  }

  /**
   * Whether an 'only' or 'retry' pass leaves the row aside: no buyer number,
   * or not a listed one. A lookalike of a listed number is remembered for the
   * verdict on the listed ones, not synced (unless it only looks like a stored
   * buyer: then a full run never lets it claim its spelling either).
   */
  private unlisted(key: string | null, rowNumber: number): boolean {
    if (key === null) return true;
    if (this.listed!.has(key)) return false;
    if (this.listedForms!.has(foldKey(key)) && (this.c.stored?.check(key) ?? null) === null) {
      this.lookalikes.check(key, rowNumber, this.c.index.visit(key, rowNumber).firstSeen);
    }
    return true;
  }

  /**
   * Fails the row when its buyer number is a stored buyer's or an earlier
   * row's written another way: never a new buyer, and never the spelling that
   * owns the number, whatever else the row holds.
   */
  private lookalikeKey(write: BatchWrite, key: string, rowNumber: number, firstSeen: boolean): boolean {
    const { keyColumn } = this.c;
    const existing = this.c.stored?.check(key) ?? null;
    if (existing !== null) {
      this.fail(write, storedLookalikeEntry(rowNumber, key, existing, keyColumn));
      return true;
    }
    const earlier = this.lookalikes.check(key, rowNumber, firstSeen);
    if (earlier !== null) {
      this.fail(write, lookalikeEntry(rowNumber, key, earlier, keyColumn));
      return true;
    }
    return false;
  }

  /** A row the rules refused; remembered by buyer number, since a later row that syncs it makes this one a duplicate. */
  private failInvalid(write: BatchWrite, problem: RowProblem, claimedBy: number | null): void {
    const { rowNumber, buyerNumber: key } = problem;
    // A row repeating a buyer number another row already synced is a duplicate first of all.
    if (claimedBy !== null) {
      this.fail(write, duplicateEntry(rowNumber, key!, claimedBy, this.c.keyColumn));
      return;
    }
    this.fail(write, problemEntry(problem));
    if (key !== null)
      this.failedUnclaimed.set(key, [
        ...(this.failedUnclaimed.get(key) ?? []),
        { row: rowNumber, type: problem.errorType },
      ]);
  }

  /** A valid row claims its buyer number (unless a row already did): an insert, an update or nothing, and what it closes in the retry queue. */
  private claimRow(write: BatchWrite, validRows: ValidRow[], row: ValidRow, seen: Visit): void {
    const { counts, index, openRetries } = this.c;
    if (seen.claimedBy !== null) {
      this.fail(write, duplicateEntry(row.rowNumber, row.key, seen.claimedBy, this.c.keyColumn));
      return;
    }
    const claim = index.claim(seen.slot, row, row.rowNumber);
    if (this.failedUnclaimed.has(row.key)) this.claimedAt.set(row.key, row.rowNumber);
    if (this.queued.has(row.key)) {
      // An earlier row of this pass failed with this number and was queued; this row synced the buyer.
      this.lateResolved.push(row.key);
    } else if (openRetries.has(row.key) || openRetries.held?.has(row.key)) {
      // Closes its open entry, or releases the exhausted entry that held it.
      write.resolved.push(row.key);
    }
    if (claim.unchanged) {
      counts.unchanged++;
    } else {
      validRows.push(row);
      (claim.stored ? write.updates : write.inserts).push({ key: row.key, values: row.values });
    }
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
    /** Sheet spellings that only look like a stored buyer number (their rows failed). */
    storedLookalikeCollisions: number;
    keysHash: string;
    /** The hash of the first snapshotCount entries (null when the read has fewer). */
    keysPrefix: KeysPrefix | null;
  } {
    const { index, openRetries, mode } = this.c;
    const notRetryable = [...this.finalFailures].filter(
      (k) => openRetries.has(k) && !this.synced(k) && !this.queued.has(k),
    );
    // A full pass speaks for the entries of its own sheet only (another sheet's buyers are not expected here).
    const ours = (k: string) =>
      mode === 'full' ? (openRetries.get(k) ?? this.c.source) === this.c.source : this.listed!.has(k);
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
      storedLookalikeCollisions: this.c.stored?.collisions ?? 0,
      ...this.sheet.digest(),
    };
  }
}
