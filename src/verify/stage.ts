/**
 * The verification's read of the sheet: every row through the very row rules
 * and key claims a sync applies (the planner, with no database state, so that
 * every row that would be written is kept), into two temporary tables of the
 * verification's transaction:
 *
 * - pg_temp.verify_rows: per buyer number, the row a sync writes, its values
 *   typed as the mapped columns are (what the sync would store);
 * - pg_temp.verify_keys: every buyer number on the sheet at its first row
 *   (the snapshot the missing-buyer diff uses).
 *
 * The comparison (compare.ts) is then set-based SQL against buyers.
 */
import { escapeIdentifier as id } from 'pg';
import type pg from 'pg';
import { resolveHeader, type Mapping, type ResolvedColumn } from '../mapping/mapping.ts';
import type { SheetReader, SheetRow } from '../sheet/source.ts';
import { KeyIndex } from '../sync/key-index.ts';
import { BatchPlanner } from '../sync/planner.ts';
import { rowRules } from '../sync/rows.ts';
import { copyRows } from '../sync/sql/copy.ts';
import { pgArray } from '../sync/sql/pg-array.ts';
import { emptyRunCounts } from '../sync/types.ts';

/** Sheet rows staged per statement. */
const STAGE_BATCH = 1000;
const PG_TYPE = { text: 'text', date: 'date', bigint: 'bigint' } as const;

export interface StagedSheet {
  /** The mapped columns on the sheet (mapping order): the ones compared. */
  columns: ResolvedColumn[];
  /** Distinct buyer numbers on the sheet. */
  spreadsheetCount: number;
  /** Buyer numbers with a row the sync can write. */
  writableCount: number;
  /** The (buyer number, first row) list's hash, as the snapshot keeps it. */
  keysHash: string;
  keys: [string, number][];
}

/** Reads the whole sheet into the verification's temporary tables (inside the client's transaction). */
export async function stageSheet(
  client: pg.ClientBase,
  reader: SheetReader,
  a: {
    mapping: Mapping;
    keyMaxLength: number;
    source: string;
    signal?: AbortSignal | undefined;
    onRows?: (rows: number) => void;
  },
): Promise<StagedSheet> {
  const header = resolveHeader(a.mapping, reader.header);
  const rules = rowRules(header, reader.format, a.keyMaxLength);
  const { columns } = header;
  const keyAt = columns.findIndex((c) => c.column === a.mapping.key);

  await client.query(
    `create temporary table verify_rows (
       row_number integer not null,
       ${columns.map((c) => `${id(c.column)} ${PG_TYPE[c.type]}`).join(',\n       ')}
     ) on commit drop`,
  );
  await client.query(
    `create temporary table verify_keys (buyer_number text not null, row_number integer not null) on commit drop`,
  );
  const insertRows = `insert into pg_temp.verify_rows (row_number, ${columns.map((c) => id(c.column)).join(', ')})
    select * from unnest($1::integer[], ${columns.map((c, i) => `$${i + 2}::${PG_TYPE[c.type]}[]`).join(', ')})`;

  const planner = new BatchPlanner({
    mode: 'full',
    rules,
    keyColumn: a.mapping.key,
    runId: 'verification',
    source: a.source,
    // No database state: every row a sync would write is planned as an insert, with its values.
    index: new KeyIndex(),
    openRetries: new Map(),
    keys: null,
    counts: emptyRunCounts(),
  });
  let writable = 0;
  const stage = async (rows: SheetRow[]) => {
    const { validRows } = planner.plan(rows);
    if (validRows.length === 0) return;
    writable += validRows.length;
    await client.query(insertRows, [
      pgArray(validRows.map((r) => r.rowNumber)),
      ...columns.map((_, c) => pgArray(validRows.map((r) => r.values[c] ?? null))),
    ]);
  };
  let batch: SheetRow[] = [];
  let read = 0;
  for await (const chunk of reader.rows) {
    a.signal?.throwIfAborted();
    for (const row of chunk) {
      batch.push(row);
      if (batch.length >= STAGE_BATCH) {
        await stage(batch);
        read += batch.length;
        a.onRows?.(read);
        batch = [];
      }
    }
  }
  if (batch.length > 0) await stage(batch);
  const done = planner.finish();

  const keys = [...planner.sheet];
  await copyRows(client, 'copy pg_temp.verify_keys (buyer_number, row_number) from stdin', keys, 2);
  // Hash indexes: a buyer number too long for the rules is still on the sheet, and longer than a btree entry may be.
  await client.query(`create index on pg_temp.verify_rows using hash (${id(columns[keyAt]!.column)})`);
  await client.query(`create index on pg_temp.verify_keys using hash (buyer_number)`);
  await client.query(`analyze pg_temp.verify_rows`);
  await client.query(`analyze pg_temp.verify_keys`);
  return { columns, spreadsheetCount: keys.length, writableCount: writable, keysHash: done.keysHash, keys };
}
