/** sync_error_log: one row per failed sheet row, or per run that stopped. */
import type { ErrorEntry, Queryable } from '../types.ts';
import { pgArray } from './pg-array.ts';

/** Error entries as the seven array parameters of a sync_error_log insert, in column order. */
export function errorColumns(errors: ErrorEntry[]): string[] {
  return [
    pgArray(errors.map((e) => e.rowNumber)),
    pgArray(errors.map((e) => e.buyerNumber)),
    pgArray(errors.map((e) => e.errorType)),
    pgArray(errors.map((e) => e.column)),
    pgArray(errors.map((e) => e.message)),
    pgArray(errors.map((e) => e.retryable)),
    pgArray(errors.map((e) => e.stack)),
  ];
}

/**
 * Rows that failed a rule before a later row of the run synced their buyer
 * number are duplicates first of all: their entries become
 * constraint_violation (never queued), keeping what rule they broke.
 */
export async function markEarlierDuplicates(
  db: Queryable,
  runId: string,
  found: { key: string; shown: string; rows: number[]; syncedRow: number }[],
): Promise<void> {
  if (found.length === 0) return;
  await db.query(
    `update public.sync_error_log e
        set error_type = 'constraint_violation', retryable = false,
            error_message = format('row %s: buyer number %s is also on row %s, which is the one synced; remove or renumber this duplicate (it also failed: %s)',
                                   e.row_number, d.shown, d.synced_row, regexp_replace(e.error_message, '^row [0-9]+: ', ''))
       from unnest($2::text[], $3::text[], $4::int[], $5::int[]) as d(buyer_number, shown, row_number, synced_row)
      where e.run_id = $1 and e.buyer_number = d.buyer_number and e.row_number = d.row_number`,
    [
      runId,
      pgArray(found.flatMap((f) => f.rows.map(() => f.key))),
      pgArray(found.flatMap((f) => f.rows.map(() => f.shown))),
      pgArray(found.flatMap((f) => f.rows)),
      pgArray(found.flatMap((f) => f.rows.map(() => f.syncedRow))),
    ],
  );
}

export async function insertErrors(db: Queryable, runId: string | null, errors: ErrorEntry[]): Promise<void> {
  if (errors.length === 0) return;
  await db.query(
    `insert into public.sync_error_log
       (run_id, row_number, buyer_number, error_type, column_name, error_message, retryable, stack_trace)
     select $1::uuid, e.* from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[]) as e`,
    [runId, ...errorColumns(errors)],
  );
}
