/**
 * What a dry run would have done, read inside its transaction before it rolls
 * back: the buyers it inserted (rows created since the transaction began,
 * also under the savepoints of an isolating pass, that have no change
 * record; no other writer runs while the sync lock is held), the ones it
 * updated with their changed columns (sync_buyer_changes), and the rows that
 * failed (sync_error_log).
 */
import { escapeIdentifier as id } from 'pg';
import type { Mapping } from '../../mapping/mapping.ts';
import type { ErrorType } from '../error-types.ts';
import type { DryRunPreview, Queryable } from '../types.ts';

export async function dryRunPreview(db: Queryable, runId: string, mapping: Mapping): Promise<DryRunPreview> {
  const key = id(mapping.key);
  const { rows: inserted } = await db.query<{ key: string }>(
    `select b.${key} as key from public.${id(mapping.table)} b
      where b.created_at >= transaction_timestamp()
        and not exists (select 1 from public.sync_buyer_changes c where c.run_id = $1 and c.buyer_number = b.${key})
      order by b.${key}`,
    [runId],
  );
  const { rows: updated } = await db.query<{ buyer_number: string; changed_columns: string[] }>(
    `select buyer_number, changed_columns from public.sync_buyer_changes where run_id = $1 order by buyer_number`,
    [runId],
  );
  const { rows: failed } = await db.query<{
    buyer_number: string | null;
    row_number: number;
    error_type: ErrorType;
    column_name: string | null;
  }>(
    `select buyer_number, row_number, error_type, column_name from public.sync_error_log
      where run_id = $1 and row_number is not null order by row_number, created_at`,
    [runId],
  );
  return {
    insert: inserted.map((r) => r.key),
    update: updated.map((r) => ({ buyerNumber: r.buyer_number, changedColumns: r.changed_columns })),
    fail: failed.map((r) => ({
      buyerNumber: r.buyer_number,
      rowNumber: r.row_number,
      errorType: r.error_type,
      column: r.column_name,
    })),
  };
}
