/**
 * New buyers go to the table in bulk: a run's inserts are buffered as they
 * are planned and, every few megabytes, sent with COPY into a temporary
 * staging table and moved into the mapped table by one set-based INSERT:
 * PostgreSQL's own bulk load instead of one statement per batch
 * of 100, and while the database loads one piece the next is read and
 * planned. Changed buyers, failures and retry bookkeeping stay in the
 * batches' statements (few rows, and updates record which columns changed).
 *
 * The staging table lives in the run's transaction (on commit drop); a row
 * the merge refuses rolls the pass back like any refused row, and the
 * isolating pass writes batch by batch as before.
 */
import type pg from 'pg';
import { escapeIdentifier as id } from 'pg';
import type { Mapping, ResolvedColumn } from '../../mapping/mapping.ts';
import { copyRows } from './copy.ts';

const STAGE = 'buyer_sync_stage';

/** Flush the staged rows to the server once they take this many characters. */
export const STAGE_FLUSH_CHARS = 1 << 20;

type StagedRow = { values: (string | null)[] };

function* rowValues(rows: readonly StagedRow[]): Generator<(string | null)[]> {
  for (const r of rows) yield r.values;
}

/** Characters a row's values take (what a flush sends, near enough). */
function charsOf(rows: readonly StagedRow[]): number {
  let n = 0;
  for (const r of rows) for (const v of r.values) n += v === null ? 2 : v.length + 1;
  return n;
}

export class InsertStage {
  private readonly client: pg.PoolClient;
  private readonly table: string;
  private readonly names: string[];
  private readonly columns: ResolvedColumn[];
  /** The rows waiting for the next flush: kept as the planner made them, encoded only as they are sent. */
  private rows: StagedRow[] = [];
  private chars = 0;
  private created = false;

  constructor(client: pg.PoolClient, mapping: Mapping, columns: ResolvedColumn[]) {
    this.client = client;
    this.table = `public.${id(mapping.table)}`;
    this.columns = columns;
    this.names = columns.map((c) => id(c.column));
  }

  /** Adds the rows if they fit beside what is buffered without calling for a flush; false (nothing added) if not. */
  addIfRoom(rows: readonly StagedRow[]): boolean {
    const chars = charsOf(rows);
    if (this.chars + chars >= STAGE_FLUSH_CHARS) return false;
    for (const r of rows) this.rows.push(r);
    this.chars += chars;
    return true;
  }

  /** Adds rows (their values in the columns' order); true when enough is buffered to flush. */
  add(rows: readonly StagedRow[]): boolean {
    for (const r of rows) this.rows.push(r);
    this.chars += charsOf(rows);
    return this.chars >= STAGE_FLUSH_CHARS;
  }

  /**
   * Sends what is buffered with one COPY, a row at a time (no copy of the
   * whole piece is ever made: a few huge cells stay within memory), and
   * moves it into the table; returns how many it inserted.
   */
  async flush(): Promise<number> {
    if (this.rows.length === 0) return 0;
    // The buffer is handed over at once, so the next rows are staged while this piece travels.
    const rows = this.rows;
    this.rows = [];
    this.chars = 0;
    if (!this.created) {
      await this.client.query(
        `create temporary table ${STAGE} (${this.columns.map((c) => `${id(c.column)} ${c.type}`).join(', ')}) on commit drop`,
      );
      this.created = true;
    }
    await copyRows(
      this.client,
      `copy ${STAGE} (${this.names.join(', ')}) from stdin`,
      rowValues(rows),
      this.columns.length,
    );
    return this.move();
  }

  /**
   * Moves the staged rows into the table and empties the stage. They are new
   * buyers (the run's index, read in this transaction under the sync lock,
   * does not hold them), so a plain INSERT: no speculative insertion per row,
   * which ON CONFLICT costs (about a seventh of the load). A buyer someone
   * else inserted meanwhile raises 23505: the run repeats with each batch
   * isolated, whose statements update such a buyer (engine.ts): nothing is lost.
   */
  private async move(): Promise<number> {
    const { rowCount } = await this.client.query(
      `insert into ${this.table} (${this.names.join(', ')}, created_at, synced_at, db_updated_at)
       select ${this.names.map((n) => `s.${n}`).join(', ')}, statement_timestamp(), statement_timestamp(), statement_timestamp()
         from ${STAGE} s`,
    );
    await this.client.query(`truncate ${STAGE}`);
    return rowCount ?? 0;
  }
}
