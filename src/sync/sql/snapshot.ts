/**
 * The sheet snapshot: the buyer numbers of the latest full read of the sheet
 * (first row of each), which buyer_sync.missing_buyers and extra_buyers
 * compare against buyers.
 */
import type pg from 'pg';
import type { KeysPrefix } from '../types.ts';
import { copyRows } from './copy.ts';

export interface SnapshotRead {
  /** Where the read came from (the run's source description). */
  source: string;
  /** Every buyer number at its first row, in sheet order. */
  keys: Iterable<[string, number]>;
  count: number;
  /** md5 of the "key NUL row LF" list. */
  keysHash: string;
  /** The same hash over the first `count` entries only, when the caller kept it. */
  keysPrefix?: KeysPrefix | null;
  runId: string | null;
}

/** How many buyer numbers the stored snapshot holds (0 when there is none). */
export async function snapshotCount(client: pg.ClientBase | pg.Pool): Promise<number> {
  const { rows } = await client.query<{ row_count: number }>(`select row_count from buyer_sync_private.sheet_snapshot`);
  return rows[0]?.row_count ?? 0;
}

/**
 * Replaces the sheet snapshot (buyer numbers of the latest full read). The
 * same (buyer number, row) list as last time leaves its rows alone; a list
 * that starts with last time's whole list (a sheet that only grew at the
 * bottom, the usual case) appends the new entries; any other list is written
 * whole, with fresh statistics for the diffs that read it next.
 */
export async function replaceSheetSnapshot(client: pg.ClientBase, read: SnapshotRead): Promise<void> {
  // One writer at a time, whoever it is (a sync and a health check hold the run lock, `missing`
  // does not): what is kept or appended to must be what the row below says, committed. The mode
  // conflicts with itself and not with readers (the diff views, the dashboard). Taken before
  // sheet_buyers is touched, by every writer, so writers always lock in the same order.
  await client.query('lock table buyer_sync_private.sheet_snapshot in share row exclusive mode');
  const { rows } = await client.query<{ keys_hash: string; row_count: number }>(
    `select keys_hash, row_count from buyer_sync_private.sheet_snapshot`,
  );
  const before = rows[0];
  const same = before?.keys_hash === read.keysHash;
  const grew =
    !same &&
    before !== undefined &&
    before.row_count > 0 &&
    read.keysPrefix?.count === before.row_count &&
    read.keysPrefix.hash === before.keys_hash;
  if (grew) {
    await copyRows(
      client,
      'copy buyer_sync_private.sheet_buyers (buyer_number, row_number) from stdin',
      after(read.keys, before.row_count),
      2,
    );
    if (read.count >= before.row_count * 1.1)
      await client.query('analyze buyer_sync_private.sheet_buyers (buyer_number)');
  } else if (!same) {
    await client.query('truncate buyer_sync_private.sheet_buyers');
    await copyRows(client, 'copy buyer_sync_private.sheet_buyers (buyer_number, row_number) from stdin', read.keys, 2);
    // The missing-buyer diffs read it next: plan them from statistics of what it holds now.
    await client.query('analyze buyer_sync_private.sheet_buyers (buyer_number)');
  }
  await client.query(
    `insert into buyer_sync_private.sheet_snapshot (singleton, source, read_at, row_count, keys_hash, run_id)
     values (true, $1, statement_timestamp(), $2, $3, $4)
     on conflict (singleton) do update
        set source = excluded.source, read_at = excluded.read_at, row_count = excluded.row_count,
            keys_hash = excluded.keys_hash, run_id = excluded.run_id`,
    [read.source, read.count, read.keysHash, read.runId],
  );
}

/** The entries after the first `skip`. */
function* after<T>(entries: Iterable<T>, skip: number): Generator<T> {
  let i = 0;
  for (const e of entries) if (i++ >= skip) yield e;
}
