/**
 * Batch writing: a planned batch goes to PostgreSQL as one statement, except
 * its new buyers, which in the normal pass are staged with COPY and merged in
 * one statement when the pass ends (sql/stage.ts). In the
 * normal pass a row the database refuses (a constraint, a trigger, an index
 * entry too large) stops the pass (RowRejected): the run rolls back and
 * repeats as an isolating pass, where each batch runs under a savepoint and a
 * refused batch is retried row by row (the one immediate in-run retry), so
 * that only the refused rows fail. Savepoints stay out of the normal path on
 * purpose: hundreds of subtransactions in one long transaction overflow the
 * per-backend subxid cache and slow every other session.
 */
import type pg from 'pg';
import { categorizeError, isConnectionLevel, isRetryable, isStatementLevel } from './error-types.ts';
import { safeDatabaseError, safeStack } from './failure.ts';
import type { BatchPlan, BatchPlanner } from './planner.ts';
import type { BatchStatement, PreparedQuery } from './sql/batch.ts';
import type { InsertStage } from './sql/stage.ts';
import type { BatchWrite, RunCounts } from './types.ts';
import { RowRejected } from './errors.ts';

type Written = { inserted: number; updated: number };

const hasWork = (w: BatchWrite) => w.inserts.length + w.updates.length + w.errors.length + w.resolved.length > 0;

export class BatchWriter {
  private readonly client: pg.PoolClient;
  private readonly statement: BatchStatement;
  private readonly runId: string;
  private readonly counts: RunCounts;
  private readonly isolate: boolean;
  private readonly planner: BatchPlanner;
  /** Where the normal pass puts its inserts (null: the isolating pass, which writes them batch by batch). */
  private readonly stage: InsertStage | null;

  constructor(a: {
    client: pg.PoolClient;
    statement: BatchStatement;
    runId: string;
    counts: RunCounts;
    isolate: boolean;
    planner: BatchPlanner;
    stage: InsertStage | null;
  }) {
    this.client = a.client;
    this.statement = a.statement;
    this.runId = a.runId;
    this.counts = a.counts;
    this.isolate = a.isolate;
    this.planner = a.planner;
    this.stage = a.isolate ? null : a.stage;
  }

  /** The part of a batch its statement writes: all of it, or, when inserts are staged, the rest. */
  private statementPart(write: BatchWrite): BatchWrite {
    return this.stage === null ? write : { ...write, inserts: [] };
  }

  /** An isolating pass starts its first savepoint. */
  async begin(): Promise<void> {
    if (this.isolate) await this.client.query('savepoint batch');
  }

  /** The batch's statement, built ahead (while the previous batch is written); null when it has nothing to do or is isolated. */
  prepare(plan: BatchPlan): PreparedQuery | null {
    const part = this.statementPart(plan.write);
    return !hasWork(part) || this.isolate ? null : this.statement(this.runId, part);
  }

  async write(plan: BatchPlan, query: PreparedQuery | null): Promise<void> {
    if (!hasWork(plan.write)) return;
    if (this.isolate) return this.writeIsolated(plan);
    try {
      if (this.stage !== null && plan.write.inserts.length > 0 && this.stage.add(plan.write.inserts))
        this.counts.inserted += await this.stage.flush();
      if (query !== null) await this.counted(query);
    } catch (err) {
      if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
      throw new RowRejected(err);
    }
  }

  /**
   * A batch that only adds new buyers to a stage with room: no round trip,
   * so the next batch is planned while the database is busy with an
   * earlier one.
   */
  buffered(plan: BatchPlan, query: PreparedQuery | null): boolean {
    if (this.stage === null || query !== null) return false;
    return plan.write.inserts.length === 0 || this.stage.addIfRoom(plan.write.inserts);
  }

  /** The pass is over: the staged inserts go into the table. */
  async finish(): Promise<void> {
    if (this.stage === null) return;
    try {
      this.counts.inserted += await this.stage.flush();
    } catch (err) {
      if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
      throw new RowRejected(err);
    }
  }

  /** Runs a batch statement and counts what it inserted and updated. */
  private async counted(query: PreparedQuery): Promise<void> {
    const written = (await this.client.query<Written>(query)).rows[0];
    this.counts.inserted += written?.inserted ?? 0;
    this.counts.updated += written?.updated ?? 0;
  }

  /**
   * The batch's statement under a savepoint; if the database refuses it, each
   * changed row alone, so that only the refused rows fail.
   */
  private async writeIsolated({ write, validRows }: BatchPlan): Promise<void> {
    const client = this.client;
    // One savepoint at a time: release the previous one (its work is kept) and set a new one.
    await client.query('release savepoint batch; savepoint batch');
    try {
      await this.counted(this.statement(this.runId, write));
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
        await this.counted(this.statement(this.runId, { ...one, errors: [], retries: [], resolved: [] }));
      } catch (err) {
        if (isConnectionLevel(err) || isStatementLevel(err)) throw err;
        await client.query('rollback to savepoint batch');
        const row = byKey.get(r.key)!;
        const type = categorizeError(err);
        const message = `row ${row.rowNumber}: ${safeDatabaseError(err)}`;
        this.planner.unsync(row.key);
        this.planner.fail(write, {
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
    const rest: BatchWrite = {
      inserts: [],
      updates: [],
      errors: write.errors,
      retries: write.retries,
      resolved: write.resolved,
    };
    if (hasWork(rest)) await client.query(this.statement(this.runId, rest));
  }
}
