/** Rules that live in SQL, where analysts read them (migrations 055, 056), as the sync reads them. */
import type { Queryable } from '../types.ts';

/** The longest buyer number a row may carry (buyer_sync.buyer_number_max_length()). */
export async function keyMaxLength(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select buyer_sync.buyer_number_max_length() as n`);
  return rows[0]!.n;
}

/** The error categories and which are retried (buyer_sync.error_types). */
export async function errorTypes(db: Queryable): Promise<{ error_type: string; retryable: boolean }[]> {
  const { rows } = await db.query<{ error_type: string; retryable: boolean }>(
    `select error_type, retryable from buyer_sync.error_types order by error_type`,
  );
  return rows;
}
