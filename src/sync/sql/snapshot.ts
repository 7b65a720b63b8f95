/**
 * The sheet snapshot: the buyer numbers of the latest full read of the sheet
 * (first row of each), which buyer_sync.missing_buyers and extra_buyers
 * compare against buyers.
 */
import type pg from 'pg';
import { copyRows } from './copy.ts';

/**
 * Replaces the sheet snapshot (buyer numbers of the latest full read) unless
 * the (buyer number, row) list is the same as last time.
 */
export async function replaceSheetSnapshot(
  client: pg.ClientBase,
  snapshot: { source: string; keys: Iterable<[string, number]>; count: number; keysHash: string; runId: string | null },
): Promise<void> {
  const { rows } = await client.query<{ keys_hash: string }>(
    `select keys_hash from buyer_sync_private.sheet_snapshot`,
  );
  if (rows[0]?.keys_hash !== snapshot.keysHash) {
    await client.query('truncate buyer_sync_private.sheet_buyers');
    await copyRows(client, 'copy buyer_sync_private.sheet_buyers (buyer_number, row_number) from stdin', snapshot.keys, 2);
    // The missing-buyer diffs read it next: plan them from statistics of what it holds now.
    await client.query('analyze buyer_sync_private.sheet_buyers (buyer_number)');
  }
  await client.query(
    `insert into buyer_sync_private.sheet_snapshot (singleton, source, read_at, row_count, keys_hash, run_id)
     values (true, $1, statement_timestamp(), $2, $3, $4)
     on conflict (singleton) do update
        set source = excluded.source, read_at = excluded.read_at, row_count = excluded.row_count,
            keys_hash = excluded.keys_hash, run_id = excluded.run_id`,
    [snapshot.source, snapshot.count, snapshot.keysHash, snapshot.runId],
  );
}
