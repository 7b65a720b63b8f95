/**
 * Rules that live in SQL, where analysts read them (migrations 055, 056), as the sync reads them.
 * The error categories (buyer_sync.error_types) are mirrored in src/sync/error-types.ts, checked by test/policy.test.ts.
 */
import type { Queryable } from '../types.ts';

/** The longest buyer number a row may carry (buyer_sync.buyer_number_max_length()). */
export async function keyMaxLength(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select buyer_sync.buyer_number_max_length() as n`);
  return rows[0]!.n;
}
