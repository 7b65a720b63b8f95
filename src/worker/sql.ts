/**
 * The worker as SQL sees it: the register of live workers and their session
 * locks (liveness.ts, migration 063), the history prune's rounds
 * (retention.ts), and what serve asks at start: whether a first sync is due,
 * the request for one, and the schedules it records.
 *
 * A worker's lock is a session advisory lock: taking, holding and releasing
 * it must happen on the one liveness connection, so those functions take that
 * client, never the pool.
 */
import type pg from 'pg';
import type { Queryable } from '../db/queryable.ts';

/** The advisory lock class of worker liveness (buyer_sync_private.worker_gone reads it). */
const LIVENESS_CLASS = 7_340_002;

/** The heartbeat interval in force (worker_liveness.heartbeat_every), in ms; null when it is not set. */
export async function heartbeatEveryMs(client: pg.ClientBase): Promise<number | null> {
  const { rows } = await client.query<{ ms: number }>(
    `select (extract(epoch from heartbeat_every) * 1000)::float8 as ms from buyer_sync_private.worker_liveness`,
  );
  return rows[0]?.ms ?? null;
}

/** Takes a worker's liveness lock for this session, without waiting; whether it did. */
export async function tryWorkerLock(client: pg.ClientBase, workerId: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, hashtext($2)) as ok', [
    LIVENESS_CLASS,
    workerId,
  ]);
  return rows[0]?.ok === true;
}

/** Releases a worker's liveness lock this session holds (the worker stopped cleanly). */
export async function releaseWorkerLock(client: pg.ClientBase, workerId: string): Promise<void> {
  await client.query('select pg_advisory_unlock($1, hashtext($2))', [LIVENESS_CLASS, workerId]);
}

/**
 * The heartbeat: refreshes the registrations of these workers (last_seen_at),
 * inserting the ones that are not registered; `inserted` says which were.
 */
export async function heartbeatWorkers(
  client: pg.ClientBase,
  workerIds: string[],
  host: string,
  pid: number,
): Promise<{ worker_id: string; inserted: boolean }[]> {
  const { rows } = await client.query<{ worker_id: string; inserted: boolean }>(
    `insert into buyer_sync_private.workers (worker_id, host, pid)
         select unnest($1::text[]), $2, $3
       on conflict (worker_id) do update set last_seen_at = now()
       returning worker_id, (xmax = 0) as inserted`,
    [workerIds, host, pid],
  );
  return rows;
}

/** A worker that stopped cleanly leaves the register. */
export async function unregisterWorker(client: pg.ClientBase, workerId: string): Promise<void> {
  await client.query(`delete from buyer_sync_private.workers where worker_id = $1`, [workerId]);
}

/**
 * Unlocks the jobs of registered workers whose process is gone (no lock, no
 * recent heartbeat), and forgets those workers, in one statement that
 * re-checks the rule on each row (buyer_sync_private.recover_dead_workers).
 * Returns their ids. Safe to run from any number of processes at once.
 */
export async function recoverDeadWorkers(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ dead: string[] }>(`select buyer_sync_private.recover_dead_workers() as dead`);
  return rows[0]?.dead ?? [];
}

/**
 * One round of the history prune (buyer_sync.prune_history): at most
 * `batchSize` rows per statement, one statement so one transaction; the rows
 * deleted per table (as text: a bigint), every table, in its order.
 */
export async function pruneHistoryRound(
  db: Queryable,
  batchSize: number,
): Promise<{ table_name: string; deleted: string }[]> {
  const { rows } = await db.query<{ table_name: string; deleted: string }>(
    'select table_name, deleted from buyer_sync.prune_history($1)',
    [batchSize],
  );
  return rows;
}

/**
 * Whether a sync job is queued, running, or locked by a worker that died
 * (not yet out of attempts): serve's first sync is then that one.
 */
export async function syncJobPending(db: Queryable): Promise<boolean> {
  const { rows } = await db.query(
    `select 1 from graphile_worker.jobs where task_identifier = 'buyers__sync' and attempts < max_attempts limit 1`,
  );
  return rows.length > 0;
}

/**
 * When the last full sync that succeeded (or found the sheet unchanged)
 * ended; null when none did: serve enqueues a first sync when it is older
 * than the schedule's period.
 */
export async function lastFullSyncAt(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ last: Date | null }>(
    `select max(coalesce(finished_at, started_at)) as last from public.sync_runs
        where mode = 'full' and (status = 'succeeded' or (status = 'skipped' and coalesce(skipped_kind, 'unchanged') = 'unchanged'))`,
  );
  return rows[0]?.last ?? null;
}

/** Enqueues a full sync (buyer_sync.request_sync(): its job key coalesces with a request already waiting); the job id. */
export async function requestSync(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string }>('select buyer_sync.request_sync() as id');
  return rows[0]!.id;
}

/** Records the schedules, so the verdict can say when the next sync is due (buyer_sync.verdict's next_sync_at). */
export async function recordSchedules(db: Queryable, syncCron: string, healthCron: string): Promise<void> {
  await db.query(
    `select buyer_sync.record_schedule('scheduled_sync', $1), buyer_sync.record_schedule('health_check', $2)`,
    [syncCron, healthCron],
  );
}
