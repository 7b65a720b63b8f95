/**
 * The column mapping checked against its table before a sheet is read, by
 * the catalog query buyer_sync.mapping_problems (migration 055): a key column
 * without a unique index, a type that does not fit, a generated column, a
 * column that does not exist. A refusal is one line naming each column and
 * its fix, and comes before a single request to Google or byte of the file.
 */
import type pg from 'pg';
import { CannotRunError } from '../errors.ts';
import type { Mapping } from './mapping.ts';

export async function mappingProblems(db: pg.Pool | pg.ClientBase, mapping: Mapping): Promise<string[]> {
  const { rows } = await db.query<{ problem: string }>(`select problem from buyer_sync.mapping_problems($1::jsonb)`, [
    JSON.stringify({ table: mapping.table, key: mapping.key, columns: mapping.columns }),
  ]);
  return rows.map((r) => r.problem);
}

/** Refuses (exit 3, nothing read, nothing written) while the mapping does not fit its table. */
export async function assertMappingFits(db: pg.Pool | pg.ClientBase, mapping: Mapping): Promise<void> {
  const problems = await mappingProblems(db, mapping);
  if (problems.length > 0) {
    throw new CannotRunError(
      `sync refused, nothing written: the column mapping ${mapping.origin} does not fit the table: ${problems.join('; ')}`,
    );
  }
}
